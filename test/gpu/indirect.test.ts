// Dispatch sizes worked out on the GPU against grid1d, the host's own sizing, and an indirect
// dispatch over them running exactly the counted threads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dispatchArgsBuffer, recordDispatchArgs } from '../../src/gpu/indirect.ts';
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
