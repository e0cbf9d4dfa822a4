// Prints progress and then a throughput that depends on its arguments and environment, like a
// benchmark would: throughput = 100 * workers(argv) + PARALLEL_WORKERS(env).
const workers = Number(process.argv[2] ?? 1);
const fromEnv = Number(process.env.PARALLEL_WORKERS ?? 0);
console.log("warming up");
console.log("throughput: 1.5 items/s (partial)");
console.error("a line on stderr");
console.log(`throughput: ${100 * workers + fromEnv} items/s`);
