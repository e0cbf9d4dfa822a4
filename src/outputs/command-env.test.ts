// The .env of a command tuning: the variables the program reads, filled in; placeholders that
// only reach the command line named in comments; a style that has no name for any parameter is
// refused rather than writing an empty file.
import { describe, expect, it } from "vitest";
import { commandResult } from "../testing/command-result.js";
import { UserInputError } from "../errors.js";
import { commandLineAssignments, commandVariables } from "../workloads/command-variables.js";
import { envBlock, envRecord, renderEnv } from "./env.js";
import { recommendationFromResult } from "./recommendation.js";

const mpi = commandResult("mpirun -np {np} --bind-to none ./hybrid", { OMP_NUM_THREADS: "{t}" }, [
  [{ np: 1, t: 1 }, 100],
  [{ np: 2, t: 1 }, 190],
  [{ np: 1, t: 2 }, 180],
  [{ np: 2, t: 2 }, 150],
]);

describe("command variables", () => {
  it("reads VAR={x} words of the command line as variables, upper-case names only", () => {
    expect(commandLineAssignments("OMP_NUM_THREADS={t} mpirun -x MY_BATCH={b} ./p key={k} --n={n} FIXED=1")).toEqual({ OMP_NUM_THREADS: "{t}", MY_BATCH: "{b}" });
    expect(commandVariables("A={a} ./p", { B: "x{b}" }).env).toEqual({ A: "{a}", B: "x{b}" });
  });
});

describe("the .env of a command tuning", () => {
  it("carries the variables as the program reads them and names command-line placeholders in comments", () => {
    const rec = recommendationFromResult(mpi, "tuned");
    expect(rec.config).toEqual({ np: 2, t: 1 });
    const block = envBlock(rec);
    expect(envRecord(block)).toEqual({ OMP_NUM_THREADS: "1" });
    const text = renderEnv(block);
    expect(text).toContain("# paratune: on the command line, not in the environment: np=2\n");
    expect(text).toContain("# paratune: run: mpirun -np 2 --bind-to none ./hybrid\n");
    expect(text).not.toMatch(/^NP=|^T=/m);
  });

  it("fills a variable's whole template and keeps variables without placeholders", () => {
    const r = commandResult("python3 job.py", { BATCH_SIZE: "{batch}", WORKERS: "{w}", MODE: "fast", RANGE: "{w}-{batch}" }, [
      [{ w: 1, batch: 8 }, 10],
      [{ w: 2, batch: 32 }, 30],
    ]);
    const env = envRecord(envBlock(recommendationFromResult(r, "tuned")));
    expect(env).toEqual({ BATCH_SIZE: "32", WORKERS: "2", MODE: "fast", RANGE: "2-32" });
  });

  it("--env-style omp adds the BLAS thread counts for the parameter that feeds OMP_NUM_THREADS", () => {
    const env = envRecord(envBlock(recommendationFromResult(mpi, "tuned"), { style: "omp" }));
    expect(env).toEqual({ OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" });
  });

  it("refuses a style that has a name for none of the parameters, saying why", () => {
    const onlyLine = commandResult("mpirun -np {np} ./hybrid --chunk {chunk}", undefined, [
      [{ np: 1, chunk: 1 }, 100],
      [{ np: 2, chunk: 4 }, 190],
    ]);
    const rec = recommendationFromResult(onlyLine, "tuned");
    expect(() => envBlock(rec, { style: "omp" })).toThrow(UserInputError);
    expect(() => envBlock(rec, { style: "omp" })).toThrow(/--env-style omp writes nothing for this command.*np, chunk/);
    // The default style still writes the file: comments only, naming what goes on the command line.
    const text = renderEnv(envBlock(rec));
    expect(text).toContain("on the command line, not in the environment: np=2 chunk=4");
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([]);
  });
});
