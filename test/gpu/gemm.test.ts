import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Activation, chooseGemmLayout, Gemm, type Operand } from '../../src/gpu/gemm.ts';
import { GEMM_LAYOUTS, type GemmLayoutName, gemmTileM } from '../../src/gpu/gemm.wgsl.ts';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { xorshift as rng } from '../../src/gpu/random.ts';

const LAYOUTS = Object.keys(GEMM_LAYOUTS) as GemmLayoutName[];

/** Small deterministic PRNG so failures reproduce. */

interface View {
  data: Float32Array;
  offset: number;
  rs: number;
  cs: number;
}

/** Lays out a rows x cols matrix in a fresh array, transposed or not, after `offset` floats of junk. */
function layout(mat: Float64Array, rows: number, cols: number, transposed: boolean, offset: number, r: () => number): View {
  const data = new Float32Array(offset + rows * cols + 3);
  for (let i = 0; i < data.length; i++) data[i] = r() * 10 - 5; // junk that must never be read
  const rs = transposed ? 1 : cols;
  const cs = transposed ? rows : 1;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[offset + i * rs + j * cs] = mat[i * cols + j]!;
  return { data, offset, rs, cs };
}

function reference(
  M: number,
  N: number,
  K: number,
  a: Float64Array,
  b: Float64Array,
  bias: Float64Array | null,
  act: Activation,
  prev: Float64Array | null,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * b[k * N + n]!;
      if (bias) s += bias[n]!;
      if (act === 'relu') s = Math.max(s, 0);
      if (act === 'sigmoid') s = 1 / (1 + Math.exp(-s));
      if (prev) s += prev[m * N + n]!;
      out[m * N + n] = s;
    }
  }
  return out;
}

interface Case {
  M: number;
  N: number;
  K: number;
  ta?: boolean;
  tb?: boolean;
  tc?: boolean;
  bias?: boolean;
  act?: Activation;
  accumulate?: boolean;
  splitK?: number;
}

async function runCase(gemm: Gemm, cs: Case, seed: number): Promise<void> {
  const ctx = await nodeGpu();
  const r = rng(seed);
  const { M, N, K } = cs;
  const rand = (n: number) => Float64Array.from({ length: n }, () => Math.fround(r() * 2 - 1));
  const a = rand(M * K);
  const b = rand(K * N);
  const bias = cs.bias ? rand(N) : null;
  const prev = cs.accumulate ? rand(M * N) : null;
  const av = layout(a, M, K, !!cs.ta, 5, r);
  const bv = layout(b, K, N, !!cs.tb, 0, r);
  const cv = layout(prev ?? new Float64Array(M * N), M, N, !!cs.tc, 7, r);
  const biasData = new Float32Array(3 + N);
  if (bias) biasData.set(bias, 3);
  const bufs = [ctx.upload('a', av.data), ctx.upload('b', bv.data), ctx.upload('c', cv.data), ctx.upload('bias', biasData)];
  const op = (buffer: GPUBuffer, v: View): Operand => ({ buffer, offset: v.offset, rowStride: v.rs, colStride: v.cs });
  const enc = new Encoder(ctx);
  gemm.run(enc, {
    M,
    N,
    K,
    a: op(bufs[0]!, av),
    b: op(bufs[1]!, bv),
    c: op(bufs[2]!, cv),
    bias: cs.bias ? { buffer: bufs[3]!, offset: 3 } : undefined,
    act: cs.act,
    accumulate: cs.accumulate,
    splitK: cs.splitK,
  });
  enc.submit();
  const got = await ctx.readF32(bufs[2]!);
  const want = reference(M, N, K, a, b, bias, cs.act ?? 'none', prev);
  const label = JSON.stringify(cs);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const g = got[cv.offset + m * cv.rs + n * cv.cs]!;
      const w = want[m * N + n]!;
      assert.ok(Math.abs(g - w) <= 1e-4 * (1 + Math.abs(w)) * Math.sqrt(K + 1), `${label} C[${m},${n}] = ${g}, want ${w}`);
    }
  }
  // Junk outside the written view must be intact (no stray writes).
  const written = new Set<number>();
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) written.add(cv.offset + m * cv.rs + n * cv.cs);
  for (let i = 0; i < cv.data.length; i++) {
    if (!written.has(i)) assert.equal(got[i], cv.data[i], `${label} wrote outside C at ${i}`);
  }
  for (const buf of bufs) ctx.destroy(buf);
}

const cases: Case[] = [
  { M: 16, N: 16, K: 16 },
  { M: 1, N: 1, K: 1 },
  { M: 1, N: 37, K: 150 },
  { M: 37, N: 128, K: 150, bias: true, act: 'relu' },
  { M: 33, N: 3, K: 128, bias: true, act: 'sigmoid' },
  { M: 20, N: 17, K: 5, ta: true },
  { M: 20, N: 17, K: 5, tb: true },
  { M: 20, N: 17, K: 5, ta: true, tb: true },
  { M: 20, N: 17, K: 5, ta: true, tb: true, tc: true, bias: true },
  { M: 18, N: 19, K: 40, tc: true, accumulate: true },
  { M: 31, N: 9, K: 33, bias: true, act: 'relu', accumulate: true },
  { M: 5, N: 7, K: 0, bias: true, act: 'sigmoid' },
  // Split-K path (forced: the automatic choice only splits long K).
  { M: 3, N: 20, K: 100, ta: true, splitK: 3 },
  { M: 17, N: 5, K: 77, bias: true, act: 'sigmoid', accumulate: true, tc: true, splitK: 4 },
  { M: 4, N: 4, K: 1000, ta: true },
  // Edges of every layout's blocks and tiles: N = 1, K = 1, M and N either side of 4 (where the
  // software layouts switch), more than one tile each way, odd K (the unrolled loop's tail).
  { M: 40, N: 1, K: 9, bias: true, act: 'relu' },
  { M: 9, N: 40, K: 1, bias: true },
  { M: 5, N: 4, K: 3, tb: true, accumulate: true },
  { M: 4, N: 5, K: 301, ta: true, bias: true, act: 'sigmoid', accumulate: true },
  { M: 2, N: 70, K: 600, splitK: 3, bias: true },
  { M: 133, N: 71, K: 7, tc: true, bias: true, act: 'relu' },
  { M: 530, N: 3, K: 6, bias: true, act: 'sigmoid' },
  { M: 3, N: 520, K: 6, ta: true, accumulate: true },
];

test('gemm matches the reference across shapes, strides, bias, activations and accumulate', async () => {
  const ctx = await nodeGpu();
  // The layout this adapter picks per shape, then every layout forced on every shape.
  const gemms: [string, Gemm][] = [['auto', new Gemm(ctx)], ...LAYOUTS.map((l): [string, Gemm] => [l, new Gemm(ctx, { layout: l })])];
  for (const [name, gemm] of gemms) {
    let seed = 1;
    for (const cs of cases) {
      await runCase(gemm, cs, seed++).catch((e: Error) => {
        throw new Error(`layout ${name}: ${e.message}`);
      });
    }
    gemm.destroy();
  }
});

test('gemm folds more M tiles than one grid dimension allows', async () => {
  const ctx = await nodeGpu();
  for (const layout of LAYOUTS) {
    // A folding threshold of 4 workgroups makes 7 M tiles run on a 4 x 2 grid (one slot idle),
    // and 3 M tiles x 3 K splits on a 3 x 3 grid.
    const gemm = new Gemm(ctx, { maxWorkgroupsPerDim: 4, layout });
    const tm = gemmTileM(GEMM_LAYOUTS[layout]);
    await runCase(gemm, { M: tm * 6 + 3, N: 3, K: 8, bias: true, act: 'sigmoid' }, 99);
    await runCase(gemm, { M: tm * 2 + 1, N: 5, K: 700, ta: true, splitK: 3 }, 98);
    gemm.destroy();
  }
});

test('gemm keeps the tiles layout on GPUs and picks by shape on software adapters', () => {
  for (const [M, N] of [
    [20000, 128],
    [20000, 3],
    [1, 128],
    [16, 150],
  ] as const)
    assert.equal(chooseGemmLayout(false, M, N), 'tiles');
  assert.equal(chooseGemmLayout(true, 20000, 128), 'rows'); // forward / input gradient, featureC 128
  assert.equal(chooseGemmLayout(true, 20000, 3), 'narrowN'); // colours
  assert.equal(chooseGemmLayout(true, 1, 128), 'shortM'); // bias gradient
  assert.equal(chooseGemmLayout(true, 16, 150), 'cols'); // first-layer weight gradient, featureC 16
});

test('gemm rejects an output aliasing an input', async () => {
  const ctx = await nodeGpu();
  const gemm = new Gemm(ctx);
  const buf = ctx.buffer('x', 64 * 4);
  const op: Operand = { buffer: buf, offset: 0, rowStride: 4, colStride: 1 };
  assert.throws(() => gemm.run(new Encoder(ctx), { M: 4, N: 4, K: 4, a: op, b: { ...op, offset: 16 }, c: { ...op, offset: 32 } }), /must differ/);
  const other = ctx.buffer('y', 4 * 4);
  assert.throws(() => gemm.run(new Encoder(ctx), { M: 4, N: 4, K: 4, a: op, b: op, c: { ...op, buffer: other, offset: 4 } }), /overruns|past/);
  ctx.destroy(buf);
  ctx.destroy(other);
});
