// Dispatch sizes worked out on the GPU against grid1d, the host's own sizing, and an indirect
// dispatch over them running exactly the counted threads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gemm } from '../../src/gpu/gemm.ts';
import { dispatchArgsBuffer, dispatchOverRows, recordDispatchArgs } from '../../src/gpu/indirect.ts';
import { Encoder, grid1d, Kernel } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { linearId } from '../../src/gpu/wgsl.ts';

test('the workgroups written on the GPU are the ones grid1d gives for the clamped count, folded past the limit', async () => {
  const ctx = await nodeGpu();
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const cases: [count: number, capacity: number, wg: number][] = [
    [0, 100, 64],
    [1, 100, 64],
    [64, 100, 64],
    [65, 100, 64],
    [1000, 100, 64],
    [300, 1000, 256],
    // More workgroups than one dimension holds: folded into two.
    [maxDim * 64 + 1, 2 ** 31, 64],
    [maxDim * 256 * 3 + 5, 2 ** 31, 256],
  ];
  for (const [count, capacity, wg] of cases) {
    const counts = ctx.upload('test.counts', new Uint32Array([9, count, 9, 9]));
    const args = dispatchArgsBuffer(ctx, 'test.args');
    const enc = new Encoder(ctx);
    recordDispatchArgs(ctx, enc, counts, 1, capacity, wg, args);
    enc.submit();
    const got = [...(await ctx.readU32(args, 3))];
    const n = Math.min(count, capacity);
    const want = n === 0 ? [0, 1, 1] : [...grid1d(ctx, n, wg), 1];
    assert.deepEqual(got, want, `count ${count}, capacity ${capacity}, workgroups of ${wg}`);
    ctx.destroy(counts);
    ctx.destroy(args);
  }
});

test('an indirect dispatch over the written workgroups reaches every counted thread and no more', async () => {
  const ctx = await nodeGpu();
  const kernel = new Kernel(
    ctx,
    'test.touch',
    /* wgsl */ `
${linearId}
struct Params { capacity: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read_write> hits: array<atomic<u32>>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 64u);
  atomicAdd(&hits[0], 1u);
  if (i >= min(counts[0], params.capacity)) { return; }
  atomicAdd(&hits[1], 1u);
}`,
  );
  for (const count of [0, 5, 64, 130]) {
    const counts = ctx.upload('test.counts', new Uint32Array([count, 0, 0, 0]));
    const hits = ctx.upload('test.hits', new Uint32Array(4));
    const args = dispatchArgsBuffer(ctx, 'test.args');
    const enc = new Encoder(ctx);
    recordDispatchArgs(ctx, enc, counts, 0, 4096, 64, args);
    enc.dispatch(kernel, { params: { capacity: 4096 }, buffers: { counts, hits }, workgroups: { indirect: args } });
    enc.submit();
    const [invocations, counted] = await ctx.readU32(hits, 2);
    assert.equal(counted, count, `every one of ${count} threads ran`);
    assert.equal(invocations, Math.ceil(count / 64) * 64, 'and only the workgroups they need');
    for (const b of [counts, hits, args]) ctx.destroy(b);
  }
});

test("a dispatch over GPU rows runs a chunk's rows and threads, with them in its params, and none below `above`", async () => {
  const ctx = await nodeGpu();
  const kernel = new Kernel(
    ctx,
    'test.rows',
    /* wgsl */ `
${linearId}
struct Params { rows: u32, threads: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> hits: array<atomic<u32>>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, 64u);
  if (i >= params.threads) { return; }
  atomicAdd(&hits[0], 1u);
  atomicStore(&hits[1], params.rows);
}`,
  );
  // [count, first, max, above, perRow] -> rows
  const cases: [number, number, number, number, number, number][] = [
    [1000, 0, 300, 0, 3, 300],
    [1000, 900, 300, 0, 3, 100],
    [1000, 1200, 300, 0, 3, 0],
    [250, 0, 300, 300, 2, 0],
    [301, 300, 300, 300, 5, 1],
  ];
  for (const [count, first, max, above, perRow, rows] of cases) {
    const counts = ctx.upload('test.counts', new Uint32Array([7, count]));
    const hits = ctx.upload('test.hits', new Uint32Array(4));
    const enc = new Encoder(ctx);
    dispatchOverRows(
      ctx,
      enc,
      kernel,
      { params: { rows: 12345, threads: 0 }, buffers: { hits } },
      { counts, word: 1, first, max, above },
      { wg: 64, perRow, rowsField: 'rows', threadsField: 'threads' },
    );
    enc.submit();
    const [threads, seenRows] = await ctx.readU32(hits, 2);
    assert.equal(threads, rows * perRow, `count ${count} from ${first}, at most ${max}, above ${above}`);
    if (rows > 0) assert.equal(seenRows, rows, 'the params carry the rows');
    ctx.destroy(counts);
    ctx.destroy(hits);
  }
});

test('a GEMM over GPU rows (M, or K with split-K) equals one over the same rows known on the host', async () => {
  const ctx = await nodeGpu();
  const gemm = new Gemm(ctx);
  const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.5);
  for (const [dim, max, count, first, N, other] of [
    ['M', 700, 1234, 600, 20, 24],
    ['M', 700, 500, 600, 20, 24],
    ['K', 3000, 5000, 3000, 16, 12],
    ['K', 3000, 2000, 0, 16, 12],
  ] as const) {
    const rows = Math.max(0, Math.min(count - first, max));
    // M x K times K x N: over M the rows are the M; over K they are the K (a weight gradient).
    const [M, K] = dim === 'M' ? [max, other] : [other, max];
    const A = ctx.upload('test.A', rand(M * K, 1));
    const B = ctx.upload('test.B', rand(K * N, 2));
    const C = ctx.upload('test.C', new Float32Array(M * N).fill(7));
    const counts = ctx.upload('test.counts', new Uint32Array([count]));
    const enc = new Encoder(ctx);
    gemm.run(enc, {
      M,
      N,
      K,
      a: { buffer: A, offset: 0, rowStride: K, colStride: 1 },
      b: { buffer: B, offset: 0, rowStride: N, colStride: 1 },
      c: { buffer: C, offset: 0, rowStride: N, colStride: 1 },
      gpuRows: { dim, rows: { counts, word: 0, first, max } },
    });
    enc.submit();
    const got = await ctx.readF32(C, M * N);
    const a = rand(M * K, 1);
    const b = rand(K * N, 2);
    const [mEnd, kEnd] = dim === 'M' ? [rows, K] : [M, rows];
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let want = 7; // rows past the count are not written
        if (m < mEnd) {
          want = 0;
          for (let k = 0; k < kEnd; k++) want += a[m * K + k]! * b[k * N + n]!;
        }
        assert.ok(Math.abs(got[m * N + n]! - want) <= 1e-4 * (1 + Math.abs(want)), `${dim} rows ${rows}: C[${m}][${n}] = ${got[m * N + n]}, want ${want}`);
      }
    }
    for (const buf of [A, B, C, counts]) ctx.destroy(buf);
  }
  gemm.destroy();
});
