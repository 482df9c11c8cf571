// f64 reference of k-means (kmeans.ts): the assignment in f64 on the host, the same seeded start
// and the same means.
import { type Codebook, initialCodewords, type KmeansOptions, updateCodewords } from './kmeans.ts';

/** Each vector's nearest codeword (squared distance, the lowest index winning a tie). */
export function refAssign(vectors: ArrayLike<number>, d: number, codewords: Float64Array): Uint32Array {
  const n = vectors.length / d;
  const k = codewords.length / d;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let c = 0; c < k; c++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (vectors[i * d + j]! - codewords[c * d + j]!) ** 2;
      if (dist < best) {
        best = dist;
        out[i] = c;
      }
    }
  }
  return out;
}

export function refKmeans(vectors: ArrayLike<number>, d: number, weights: ArrayLike<number>, opts: Omit<KmeansOptions, 'signal' | 'onProgress'>): Codebook {
  let codewords = initialCodewords(vectors, d, weights, opts.k, opts.seed);
  let assignment = refAssign(vectors, d, codewords);
  for (let it = 0; it < opts.iterations; it++) {
    codewords = updateCodewords(vectors, d, weights, assignment, codewords);
    assignment = refAssign(vectors, d, codewords);
  }
  return { codewords, k: codewords.length / d, d, assignment };
}
