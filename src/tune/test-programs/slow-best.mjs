// A benchmark whose best configurations are also the slowest to measure, for the study's tests:
//   node slow-best.mjs <a> <b> <fidelity> <sleepMs> <slowdown>
// score = 10a + b; a = 4 takes `slowdown` times longer, like a configuration whose trial does far
// more work (many workers x sequences) than the others.
const [a, b, fidelity, sleepMs, slowdown] = process.argv.slice(2).map(Number);
const ms = sleepMs * fidelity * (a === 4 ? slowdown : 1);
setTimeout(() => console.log(`score: ${10 * a + b}`), Math.round(ms));
