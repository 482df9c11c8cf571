// SlimmeRF's TRaIn schedule (notes 4.3): after iteration i, grow the rank by one group when the
// batch loss changed fast, |L(i-1) - L(i)| / L(i) > upsilon, and more than eta iterations have
// passed since the last increment. The rule is the reference code's (batch MSE, iteration
// numbers), kept free of the GPU so it can be tested on a hand-made loss sequence.

export class RankIncrementer {
  private previous: number | undefined;
  private lastIncrement = 0;

  constructor(
    public rank: number,
    readonly maxRank: number,
    readonly upsilon = 0.4,
    readonly eta = 0,
  ) {}

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
