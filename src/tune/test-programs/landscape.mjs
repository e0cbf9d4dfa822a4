// A benchmark with a known optimum, for the study's tests: it works for a time that grows with
// the fidelity and prints a score that depends on its arguments.
//   node landscape.mjs <a> <b> <fidelity> [sleepMs] [slowdown]
// score = 10a + b, except that a x b above 4 "oversubscribes": it scores 1 and, given a
// slowdown, takes that many times longer, like an oversubscribed llama.cpp does.
const [a, b, fidelity, sleepMs, slowdown] = process.argv.slice(2).map(Number);
const oversubscribed = a * b > 4;
const score = oversubscribed ? 1 : 10 * a + b;
const ms = (sleepMs || 0) * fidelity * (oversubscribed && slowdown ? slowdown : 1);
setTimeout(() => console.log(`score: ${score}`), Math.round(ms));
