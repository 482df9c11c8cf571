// Deterministic random numbers for initialisation, training-time choices and tests: a 32-bit
// xorshift generator. Reproducible runs need the same seed to give the same numbers everywhere.

/** Uniform numbers in [0, 1) from a seed (0 is mapped to 1: xorshift has no zero state). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
