// Nonlinear least squares with parameter uncertainty, shared by the roofline calibration and the
// USL fits. ml-levenberg-marquardt finds the minimum; it reports no covariance, so we take the
// Jacobian at the solution and form s^2 (J'WJ)^-1 ourselves, which is what lets every fitted
// model answer with a standard deviation instead of a bare number.

import { levenbergMarquardt } from "ml-levenberg-marquardt";
import { Matrix, pseudoInverse } from "ml-matrix";

export interface LeastSquaresProblem {
  /** Prediction for data row i under parameters p. */
  model(p: number[], i: number): number;
  y: number[];
  /** Standard deviation of each row's noise (relative weights are enough); 1 when omitted. */
  sigma?: number[];
  initial: number[];
  min?: number[];
  max?: number[];
  /**
   * Gaussian priors on the parameters, added as pseudo-rows (p_k - mean_k) / sd_k. With a handful
   * of trials this keeps an under-determined fit at the prior instead of wandering off, and it
   * makes the fit defined with fewer rows than parameters.
   */
  prior?: { mean: number[]; sd: number[] };
}

export interface LeastSquaresFit {
  params: number[];
  /** Parameter covariance (prior included), scaled by the residual variance when it is estimable. */
  covariance: number[][];
  /** Root mean square of the data residuals (in y's units), corrected for the parameters fitted. */
  residualSd: number;
  /** Data rows minus the parameters they had to pin down (may be <= 0 with priors). */
  dof: number;
  /**
   * How many parameters the data rows (not the priors) pinned down: the trace of the data rows'
   * hat matrix, J_d (J'J)^-1 J_d'. Between 0 (the priors decide everything) and min(rows,
   * parameters); n - effectiveParameters is the honest divisor of the residual sum of squares.
   */
  effectiveParameters: number;
}

export function leastSquares(problem: LeastSquaresProblem): LeastSquaresFit {
  const n = problem.y.length;
  const k = problem.initial.length;
  const sigma = problem.sigma ?? new Array<number>(n).fill(1);
  const prior = problem.prior;
  const rows = n + (prior ? k : 0);
  const x = Array.from({ length: rows }, (_, i) => i);
  const weights = [...sigma, ...(prior ? prior.sd : [])];
  // Rows are divided by their sigma here rather than passed as ml-levenberg-marquardt's
  // `weights`: in 4.1.3 the error and the step use the weights inversely to each other, which
  // sends non-uniformly weighted fits the wrong way.
  const y = [...problem.y, ...(prior ? prior.mean : [])].map((v, i) => v / weights[i]);
  const raw = (p: number[]) => (i: number) => (i < n ? problem.model(p, i) : p[i - n]);
  const row = (p: number[]) => {
    const f = raw(p);
    return (i: number) => f(i) / weights[i];
  };

  let params = [...problem.initial];
  if (rows >= 2) {
    const result = levenbergMarquardt({ x, y }, row, {
      initialValues: [...problem.initial],
      minValues: problem.min,
      maxValues: problem.max,
      damping: 1e-2,
      gradientDifference: 1e-4,
      centralDifference: true,
      maxIterations: 200,
      errorTolerance: 1e-12,
    });
    if (result.parameterValues.every(Number.isFinite)) params = result.parameterValues;
  }

  // Jacobian of the weighted rows at the solution, by central differences.
  const J = new Matrix(rows, k);
  const f0 = raw(params);
  for (let j = 0; j < k; j++) {
    const { up, down, h } = centralStep(params, j);
    const fu = row(up);
    const fd = row(down);
    for (let i = 0; i < rows; i++) J.set(i, j, (fu(i) - fd(i)) / (2 * h));
  }
  let sse = 0;
  let rawSse = 0;
  for (let i = 0; i < n; i++) {
    sse += ((problem.y[i] - f0(i)) / sigma[i]) ** 2;
    rawSse += (problem.y[i] - f0(i)) ** 2;
  }
  const dof = n - k;
  // With too few rows the residual variance cannot be estimated; trust the stated sigmas.
  const s2 = dof > 0 ? Math.max(sse / dof, 1e-12) : 1;
  const inverse = pseudoInverse(J.transpose().mmul(J));
  const cov = inverse.clone().mul(s2).to2DArray();
  let effectiveParameters = 0;
  for (let i = 0; i < n; i++) {
    const r = J.getRow(i);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) effectiveParameters += r[a] * inverse.get(a, b) * r[b];
  }
  const residualSd = n > 0 ? Math.sqrt(rawSse / (dof > 0 ? dof : n)) : 0;
  return { params, covariance: cov, residualSd, dof, effectiveParameters };
}

/** Variance of g(p) by the delta method: grad' C grad, with the gradient by central differences. */
export function deltaVariance(g: (p: number[]) => number, params: number[], covariance: number[][]): number {
  const k = params.length;
  const grad: number[] = [];
  for (let j = 0; j < k; j++) {
    const { up, down, h } = centralStep(params, j);
    grad.push((g(up) - g(down)) / (2 * h));
  }
  let v = 0;
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) v += grad[a] * covariance[a][b] * grad[b];
  return Math.max(0, v);
}

/** The two points of a central difference in parameter j, with a step relative to its size. */
function centralStep(params: number[], j: number): { up: number[]; down: number[]; h: number } {
  const h = 1e-5 * Math.max(1, Math.abs(params[j]));
  const up = [...params];
  const down = [...params];
  up[j] += h;
  down[j] -= h;
  return { up, down, h };
}
