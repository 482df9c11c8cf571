// Levenberg–Marquardt for the small problems of structure from motion (a relative or an absolute
// pose from its inliers): a handful of parameters, Jacobians by central differences, the normal
// equations solved densely. Bundle adjustment has its own solver (bundle.ts), with analytic
// Jacobians and the Schur complement.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';

export interface LeastSquaresOptions {
  iterations?: number;
  /** Huber's threshold on a residual's norm, per residual group of `groupSize` (none when absent). */
  huber?: number;
  groupSize?: number;
}

/** Parameters minimising Σ ρ(|r_g(p)|²) from `p0`, with `residuals(p)` the stacked residuals. */
export function levenbergMarquardt(p0: readonly number[], residuals: (p: readonly number[]) => number[], opts: LeastSquaresOptions = {}): number[] {
  const iterations = opts.iterations ?? 20;
  const group = opts.groupSize ?? 1;
  const n = p0.length;
  /** Per residual its IRLS weight (Huber), so the normal equations are robust. */
  const weights = (r: number[]) => {
    const w = new Array(r.length).fill(1);
    if (opts.huber === undefined) return w;
    for (let g = 0; g < r.length; g += group) {
      let s = 0;
      for (let k = 0; k < group; k++) s += r[g + k]! ** 2;
      const norm = Math.sqrt(s);
      const wg = norm <= opts.huber ? 1 : opts.huber / norm;
      for (let k = 0; k < group; k++) w[g + k] = wg;
    }
    return w;
  };
  const cost = (r: number[]) => {
    let c = 0;
    for (let g = 0; g < r.length; g += group) {
      let s = 0;
      for (let k = 0; k < group; k++) s += r[g + k]! ** 2;
      c += opts.huber === undefined || s <= opts.huber ** 2 ? s : 2 * opts.huber * Math.sqrt(s) - opts.huber ** 2;
    }
    return c;
  };
  let p = [...p0];
  let r = residuals(p);
  let c = cost(r);
  let lambda = 1e-3;
  for (let it = 0; it < iterations; it++) {
    const m = r.length;
    const J: number[][] = Array.from({ length: m }, () => new Array(n).fill(0));
    for (let j = 0; j < n; j++) {
      const h = 1e-7 * Math.max(1, Math.abs(p[j]!));
      const a = [...p];
      const b = [...p];
      a[j]! += h;
      b[j]! -= h;
      const ra = residuals(a);
      const rb = residuals(b);
      for (let i = 0; i < m; i++) J[i]![j] = (ra[i]! - rb[i]!) / (2 * h);
    }
    const w = weights(r);
    const JtJ = Matrix.zeros(n, n);
    const Jtr = new Array(n).fill(0);
    for (let i = 0; i < m; i++) {
      for (let a = 0; a < n; a++) {
        Jtr[a] += w[i]! * J[i]![a]! * r[i]!;
        for (let b = a; b < n; b++) JtJ.set(a, b, JtJ.get(a, b) + w[i]! * J[i]![a]! * J[i]![b]!);
      }
    }
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) JtJ.set(a, b, JtJ.get(b, a));
    let improved = false;
    for (let tries = 0; tries < 10 && !improved; tries++) {
      const A = JtJ.clone();
      for (let a = 0; a < n; a++) A.set(a, a, A.get(a, a) * (1 + lambda) + 1e-12);
      const chol = new CholeskyDecomposition(A);
      if (!chol.isPositiveDefinite()) {
        lambda *= 10;
        continue;
      }
      const step = chol.solve(Matrix.columnVector(Jtr.map((v) => -v))).getColumn(0);
      const q = p.map((v, k) => v + step[k]!);
      const rq = residuals(q);
      const cq = cost(rq);
      if (cq < c) {
        [p, r, c] = [q, rq, cq];
        lambda = Math.max(lambda / 10, 1e-12);
        improved = true;
      } else lambda *= 10;
    }
    if (!improved) break;
  }
  return p;
}
