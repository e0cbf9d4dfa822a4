// How many threads a command-line request may ask for. Beyond a few per usable CPU every thread
// spends most of its time waiting for one, so a measurement says nothing about a configuration
// anyone would run, and a prediction for it is a number near zero that means "don't".
import { UserInputError } from "../errors.js";

/** Threads per usable CPU that a request may ask for in all (workers x threads). */
export const MAX_THREADS_PER_CPU = 4;

/** Refuses workers x threads above MAX_THREADS_PER_CPU x the usable CPUs, saying the limit. */
export function checkThreadCount(workers: number, threads: number, usableCpus: number): void {
  const cpus = Math.max(1, Math.floor(usableCpus + 1e-9));
  const limit = MAX_THREADS_PER_CPU * cpus;
  if (workers * threads <= limit) return;
  const asked = workers > 1 ? `${workers} workers x ${threads} threads = ${workers * threads} threads` : `${threads} threads`;
  throw new UserInputError(
    `${asked} is more than ${MAX_THREADS_PER_CPU} per usable CPU (${cpus} here)`,
    `use at most ${Math.max(1, Math.floor(limit / workers))} threads${workers > 1 ? " per worker" : ""}; around ${cpus} is where throughput usually peaks`,
  );
}
