// The training schedule, free of the GPU so each rule can be tested on its own: TensoRF's learning
// rate decay and log-linear upsampling steps (notes 1.4, 1.6), and SlimmeRF's TRaIn rank growth
// (notes 4.3). trainer.ts applies them after each iteration.

/** The learning-rate factor `steps` iterations after the last reset: lr_decay_target_ratio^(steps / n_iters). */
export function lrDecay(targetRatio: number, nIters: number, steps: number): number {
  const gamma = targetRatio ** (1 / nIters);
  return gamma ** steps;
}

/** Log-linear voxel counts after each upsample (the reference's schedule). */
export function upsampleVoxelCounts(nInit: number, nFinal: number, steps: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    out.push(Math.round(Math.exp(Math.log(nInit) * (1 - t) + Math.log(nFinal) * t)));
  }
  return out;
}

/**
 * SlimmeRF's TRaIn rule: after iteration i, grow the rank by one group when the batch loss changed
 * fast, |L(i-1) - L(i)| / L(i) > upsilon, and more than eta iterations have passed since the last
 * increment. The rule is the reference code's (batch MSE, iteration numbers).
 */
/** What TRaIn remembers between iterations (a checkpoint saves it). */
export interface RankIncrementerState {
  rank: number;
  previous: number | null;
  lastIncrement: number;
}

export class RankIncrementer {
  private previous: number | undefined;
  private lastIncrement = 0;

  constructor(
    public rank: number,
    readonly maxRank: number,
    readonly upsilon = 0.4,
    readonly eta = 0,
  ) {}

  get state(): RankIncrementerState {
    return { rank: this.rank, previous: this.previous ?? null, lastIncrement: this.lastIncrement };
  }

  set state(s: RankIncrementerState) {
    this.rank = s.rank;
    this.previous = s.previous ?? undefined;
    this.lastIncrement = s.lastIncrement;
  }

  /** Feeds iteration `iter`'s batch loss; returns true when the rank grew by one group. */
  observe(iter: number, loss: number): boolean {
    const prev = this.previous;
    this.previous = loss;
    if (prev === undefined || this.rank >= this.maxRank || !(loss > 0)) return false;
    if (Math.abs(prev - loss) / loss > this.upsilon && iter - this.lastIncrement > this.eta) {
      this.rank++;
      this.lastIncrement = iter;
      return true;
    }
    return false;
  }
}
