// Weighted k-means for the codebooks of vector quantisation (compress/): n vectors of d values
// (texels' components), each weighed by its importance, into k codewords. The assignment (n·k·d
// multiply-adds, nearly all the work) runs on the GPU (kmeans.wgsl.ts); the means (n·d adds) in
// f64 on the host, in vector order, so runs reproduce exactly. Seeded: the first codewords are k
// distinct vectors drawn with the seed among those of positive weight.
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, Encoder, grid1d } from '../gpu/kernel.ts';
import { Xorshift } from '../gpu/random.ts';
import { assignShader } from './kmeans.wgsl.ts';

export interface KmeansOptions {
  /** Codewords wanted (fewer when there are fewer vectors). */
  k: number;
  iterations: number;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (iteration: number, total: number) => void;
}

export interface Codebook {
  /** k × d codewords, row-major. */
  codewords: Float64Array;
  k: number;
  d: number;
  /** Each vector's codeword. */
  assignment: Uint32Array;
}

/**
 * The first codewords: k distinct vectors, drawn with the seed (a partial Fisher-Yates shuffle),
 * those of positive weight first, since a codeword on an unseen texel helps nothing.
 */
export function initialCodewords(vectors: ArrayLike<number>, d: number, weights: ArrayLike<number>, k: number, seed: number): Float64Array {
  const n = weights.length;
  const seen: number[] = [];
  const unseen: number[] = [];
  for (let i = 0; i < n; i++) (weights[i]! > 0 ? seen : unseen).push(i);
  const rng = new Xorshift(seed);
  const pick = (pool: number[], m: number) => {
    for (let j = 0; j < m; j++) {
      const r = j + Math.floor(rng.next() * (pool.length - j));
      [pool[j], pool[r]] = [pool[r]!, pool[j]!];
    }
    return pool.slice(0, m);
  };
  const chosen = [...pick(seen, Math.min(k, seen.length)), ...pick(unseen, Math.max(0, Math.min(k - seen.length, unseen.length)))];
  const out = new Float64Array(chosen.length * d);
  chosen.forEach((i, c) => {
    for (let j = 0; j < d; j++) out[c * d + j] = vectors[i * d + j]!;
  });
  return out;
}

/**
 * The means of the vectors assigned to each codeword, weighed by their weights (a codeword whose
 * vectors all weigh 0 takes their plain mean; one with no vector keeps its place). In vector order, in f64.
 */
export function updateCodewords(
  vectors: ArrayLike<number>,
  d: number,
  weights: ArrayLike<number>,
  assignment: ArrayLike<number>,
  codewords: Float64Array,
): Float64Array {
  const k = codewords.length / d;
  const sum = new Float64Array(k * d);
  const plain = new Float64Array(k * d);
  const mass = new Float64Array(k);
  const count = new Uint32Array(k);
  for (let i = 0; i < weights.length; i++) {
    const c = assignment[i]!;
    const w = weights[i]!;
    mass[c]! += w;
    count[c]!++;
    for (let j = 0; j < d; j++) {
      const v = vectors[i * d + j]!;
      sum[c * d + j]! += w * v;
      plain[c * d + j]! += v;
    }
  }
  const out = Float64Array.from(codewords);
  for (let c = 0; c < k; c++) {
    if (count[c] === 0) continue;
    for (let j = 0; j < d; j++) out[c * d + j] = mass[c]! > 0 ? sum[c * d + j]! / mass[c]! : plain[c * d + j]! / count[c]!;
  }
  return out;
}

/** The weighted mean squared distance of the vectors to their codewords. */
export function distortion(vectors: ArrayLike<number>, d: number, weights: ArrayLike<number>, book: Pick<Codebook, 'codewords' | 'assignment'>): number {
  let total = 0;
  let mass = 0;
  for (let i = 0; i < weights.length; i++) {
    const c = book.assignment[i]!;
    let e = 0;
    for (let j = 0; j < d; j++) e += (vectors[i * d + j]! - book.codewords[c * d + j]!) ** 2;
    total += weights[i]! * e;
    mass += weights[i]!;
  }
  return mass > 0 ? total / mass : 0;
}

/** Weighted k-means of `vectors` (n × d, row-major) with the GPU assigning. */
export async function kmeans(ctx: GpuContext, vectors: Float32Array, d: number, weights: ArrayLike<number>, opts: KmeansOptions): Promise<Codebook> {
  const n = weights.length;
  if (vectors.length !== n * d) throw new Error(`kmeans: ${vectors.length} values are not ${n} vectors of ${d}`);
  let codewords = initialCodewords(vectors, d, weights, opts.k, opts.seed);
  const k = codewords.length / d;
  const kernel = cachedKernel(ctx, 'kmeansAssign', () => assignShader);
  const input = ctx.upload('kmeans.vectors', vectors);
  const book = ctx.buffer('kmeans.codebook', Math.max(4, k * d * 4));
  const assigned = ctx.buffer('kmeans.assignment', Math.max(4, n * 4));
  const assign = async (): Promise<Uint32Array> => {
    ctx.write(book, Float32Array.from(codewords));
    const enc = new Encoder(ctx);
    enc.dispatch(kernel, { params: { n, k, d }, buffers: { vectors: input, codebook: book, assignment: assigned }, workgroups: grid1d(ctx, n, 64) });
    enc.submit();
    return ctx.readU32(assigned, n);
  };
  try {
    let assignment = await assign();
    for (let it = 0; it < opts.iterations; it++) {
      opts.signal?.throwIfAborted();
      codewords = updateCodewords(vectors, d, weights, assignment, codewords);
      assignment = await assign();
      opts.onProgress?.(it + 1, opts.iterations);
    }
    return { codewords, k, d, assignment };
  } finally {
    ctx.destroy(input);
    ctx.destroy(book);
    ctx.destroy(assigned);
  }
}
