// Weighted k-means (src/compress/kmeans.ts): the GPU's assignment against the f64 reference's on
// random vectors, the whole run against the reference's on a mixture of clusters, reproducible,
// and as many codewords as vectors reproducing them exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refAssign, refKmeans } from '../../src/compress/kmeans.ref.ts';
import { distortion, kmeans } from '../../src/compress/kmeans.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal, xorshift } from '../../src/gpu/random.ts';

/** n vectors of d around `clusters` centres (spread `spread` about centres spread 1), and importance weights, a fifth of them 0. */
function mixture(n: number, d: number, clusters: number, spread: number, seed: number) {
  const centres = randomNormal(clusters * d, 1, seed);
  const noise = randomNormal(n * d, spread, seed + 1);
  const rng = xorshift(seed + 2);
  const vectors = new Float32Array(n * d);
  const weights = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    for (let j = 0; j < d; j++) vectors[i * d + j] = centres[c * d + j]! + noise[i * d + j]!;
    weights[i] = i % 5 === 3 ? 0 : rng() * 2;
  }
  return { vectors, weights };
}

const sqDist = (v: Float32Array, i: number, book: Float64Array, c: number, d: number) => {
  let s = 0;
  for (let j = 0; j < d; j++) s += (v[i * d + j]! - book[c * d + j]!) ** 2;
  return s;
};

test('k-means assignment on the GPU: every vector to its nearest codeword, as the f64 reference finds it', async () => {
  const ctx = await nodeGpu();
  const d = 7;
  const { vectors, weights } = mixture(3001, d, 50, 1, 11);
  const book = await kmeans(ctx, vectors, d, weights, { k: 37, iterations: 0, seed: 3 });
  assert.equal(book.k, 37);
  const ref = refAssign(vectors, d, book.codewords);
  let same = 0;
  for (let i = 0; i < weights.length; i++) {
    if (book.assignment[i] === ref[i]) {
      same++;
      continue;
    }
    // A near tie may go either way in f32.
    const got = sqDist(vectors, i, book.codewords, book.assignment[i]!, d);
    const best = sqDist(vectors, i, book.codewords, ref[i]!, d);
    assert.ok(got <= best * (1 + 1e-5) + 1e-9, `vector ${i}: codeword ${book.assignment[i]} at ${got}, the nearest ${ref[i]} at ${best}`);
  }
  assert.ok(same >= weights.length - 3, `${same} of ${weights.length} assignments as the reference's`);
});

test('weighted k-means: the same codebook as the f64 reference on separated clusters, the distortion falling, run to run the same', async () => {
  const ctx = await nodeGpu();
  const d = 5;
  const { vectors, weights } = mixture(1500, d, 12, 0.08, 21);
  const opts = { k: 16, iterations: 8, seed: 5 };
  const progress: number[] = [];
  const book = await kmeans(ctx, vectors, d, weights, { ...opts, onProgress: (i) => progress.push(i) });
  const again = await kmeans(ctx, vectors, d, weights, opts);
  const ref = refKmeans(vectors, d, weights, opts);
  assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(again.codewords, book.codewords, 'the same codewords on a second run');
  assert.deepEqual(book.assignment, ref.assignment, 'the same assignment as the reference');
  for (let i = 0; i < book.codewords.length; i++) assert.ok(Math.abs(book.codewords[i]! - ref.codewords[i]!) < 1e-9, `codeword value ${i}`);
  // Fewer iterations leave a larger distortion: k-means never makes it worse.
  const start = await kmeans(ctx, vectors, d, weights, { ...opts, iterations: 0 });
  const one = await kmeans(ctx, vectors, d, weights, { ...opts, iterations: 1 });
  const [e0, e1, e8] = [start, one, book].map((b) => distortion(vectors, d, weights, b));
  assert.ok(e1! <= e0! && e8! <= e1!, `distortion ${e0} → ${e1} → ${e8}`);
  // Against the data's spread about its mean (about 5: five dimensions of unit variance), k-means cuts the distortion to a small part.
  assert.ok(e8! < 0.1 * distortion(vectors, d, weights, { codewords: new Float64Array(d), assignment: new Uint32Array(weights.length) }), `distortion ${e8}`);
});

test('k-means with at least as many codewords as vectors: every vector is a codeword', async () => {
  const ctx = await nodeGpu();
  const d = 3;
  const { vectors, weights } = mixture(10, d, 10, 0.5, 31);
  const book = await kmeans(ctx, vectors, d, weights, { k: 64, iterations: 3, seed: 1 });
  assert.equal(book.k, 10);
  assert.equal(distortion(vectors, d, new Float32Array(10).fill(1), book), 0);
});
