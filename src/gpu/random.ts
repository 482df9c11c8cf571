// Deterministic random numbers on the host for initialisation, training-time choices and tests: a
// 32-bit xorshift generator and the inits built on it. Reproducible runs need the same seed to give
// the same numbers everywhere. (Kernels draw theirs from the PCG hash in wgsl.ts.)

/**
 * A 32-bit xorshift generator whose state can be saved and restored (a checkpoint continues the
 * same sequence). Seed 0 is mapped to 1: xorshift has no zero state.
 */
export class Xorshift {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    let s = this.state;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.state = s;
    return s / 4294967296;
  }
}

/** Uniform numbers in [0, 1) from a seed. */
export function xorshift(seed: number): () => number {
  const g = new Xorshift(seed);
  return () => g.next();
}

/** Deterministic normal samples (Box-Muller) for reproducible inits. */
export function randomNormal(count: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  const next = xorshift(seed ^ 0x9e3779b9);
  for (let i = 0; i < count; i += 2) {
    // 1 - u keeps the logarithm's argument in (0, 1].
    const u1 = 1 - next();
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** PyTorch's default Linear init: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function linearInit(count: number, fanIn: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  const bound = 1 / Math.sqrt(fanIn);
  const next = xorshift(Math.imul(seed, 2654435761) || 7);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * bound;
  return out;
}
