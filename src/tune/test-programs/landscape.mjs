// A benchmark with a known optimum, for the study's tests: it works for a time that grows with
// the fidelity and prints a score that depends on its arguments.
//   node landscape.mjs <a> <b> <fidelity> [sleepMs]
// score = 10a + b, except that a x b above 4 "oversubscribes" and scores 1.
const [a, b, fidelity, sleepMs] = process.argv.slice(2).map(Number);
const score = a * b > 4 ? 1 : 10 * a + b;
setTimeout(() => console.log(`score: ${score}`), Math.round((sleepMs || 0) * fidelity));
