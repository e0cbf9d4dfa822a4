// Acquisition functions: how the bayes tuner turns a posterior (mean, std) into "measure this
// next". Expected improvement balances exploiting a high mean against exploring a high std.

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 through erf; error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * Expected improvement of a maximized objective over `incumbent`, for a posterior N(mean, std²).
 * With noisy measurements the incumbent should be the best posterior mean at an observed point,
 * not the best raw observation, which a lucky noisy sample would inflate. `xi` asks for at least
 * that much improvement, nudging toward exploration.
 */
export function expectedImprovement(mean: number, std: number, incumbent: number, xi = 0): number {
  const gain = mean - incumbent - xi;
  if (!(std > 0)) return Math.max(0, gain);
  const z = gain / std;
  return gain * normalCdf(z) + std * normalPdf(z);
}
