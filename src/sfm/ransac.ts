// Seeded LO-RANSAC (Chum, Matas and Kittler) with MSAC scoring, as COLMAP's LORANSAC: minimal
// samples drawn from a seeded generator, each model scored by its truncated squared errors; every
// time the best model improves, a local optimisation re-solves from larger samples of its inliers
// (when the solver takes more than a minimal set) and keeps what scores better. The number of
// iterations adapts to the inlier ratio found so far. The same data and seed give the same model.
import { xorshift } from '../gpu/random.ts';

export interface RansacOptions {
  /** Squared error below which a datum is an inlier (the solver's units). */
  threshold2: number;
  seed: number;
  /** Probability of having drawn one all-inlier sample before stopping. */
  confidence?: number;
  minIterations?: number;
  maxIterations?: number;
  /** Sample size of the local optimisation's solves (0: none); the solver must accept that many. */
  localSampleSize?: number;
  /** Local optimisation's solves per improvement. */
  localIterations?: number;
}

export interface RansacResult<M> {
  model: M;
  /** Indices of the inliers, increasing. */
  inliers: number[];
  iterations: number;
}

/**
 * The model of `n` data best supported under MSAC: `solve` takes indices (a sample) and returns
 * the models they allow (none where degenerate); `error2` is a datum's squared error under a model.
 */
export function loRansac<M>(
  n: number,
  sampleSize: number,
  solve: (sample: readonly number[]) => M[],
  error2: (model: M, i: number) => number,
  opts: RansacOptions,
): RansacResult<M> | null {
  if (n < sampleSize) return null;
  const next = xorshift(opts.seed);
  const confidence = opts.confidence ?? 0.9999;
  const maxIterations = opts.maxIterations ?? 5000;
  const minIterations = opts.minIterations ?? 32;
  const localSize = Math.min(opts.localSampleSize ?? 0, n);
  const localIterations = opts.localIterations ?? 10;
  const th = opts.threshold2;

  const score = (m: M): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.min(error2(m, i), th);
    return s;
  };
  const inliersOf = (m: M): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (error2(m, i) < th) out.push(i);
    return out;
  };
  /** `k` distinct indices drawn from `from` (partial Fisher–Yates on a copy). */
  const sample = (from: readonly number[], k: number): number[] => {
    const pool = [...from];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, k);
  };
  const all = Array.from({ length: n }, (_, i) => i);

  let best: { model: M; score: number } | null = null;
  let needed = maxIterations;
  let it = 0;
  for (; it < Math.max(minIterations, Math.min(needed, maxIterations)); it++) {
    for (const m of solve(sample(all, sampleSize))) {
      const s = score(m);
      if (best && s >= best.score) continue;
      best = { model: m, score: s };
      // Local optimisation from the new best's inliers.
      const inl = inliersOf(m);
      if (localSize > sampleSize && inl.length > localSize) {
        for (let l = 0; l < localIterations; l++) {
          for (const lm of solve(sample(inl, localSize))) {
            const ls = score(lm);
            if (ls < best.score) best = { model: lm, score: ls };
          }
        }
      }
      const ratio = inliersOf(best.model).length / n;
      const miss = 1 - ratio ** sampleSize;
      needed = miss <= 0 ? 0 : miss >= 1 ? maxIterations : Math.ceil(Math.log(1 - confidence) / Math.log(miss));
    }
  }
  if (!best) return null;
  return { model: best.model, inliers: inliersOf(best.model), iterations: it };
}
