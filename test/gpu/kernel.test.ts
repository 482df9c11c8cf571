// Kernels bind their buffers by the WGSL's own variable names: a missing, extra or misspelled name
// is an error naming the kernel, never a buffer bound to the wrong variable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Encoder, Kernel } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';

const AXPY = /* wgsl */ `
struct Params { n: u32, a: f32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < params.n) { y[gid.x] += params.a * x[gid.x]; }
}
`;

test('buffers are bound by their WGSL names, in any order of the keys', async () => {
  const ctx = await nodeGpu();
  const k = new Kernel(ctx, 'test.axpy', AXPY);
  assert.deepEqual(
    [...k.storages],
    [
      ['x', 1],
      ['y', 2],
    ],
  );
  const x = ctx.upload('test.x', new Float32Array([1, 2, 3, 4]));
  const y = ctx.upload('test.y', new Float32Array([10, 20, 30, 40]));
  const enc = new Encoder(ctx);
  // y listed first: the names, not the order, decide the bindings.
  enc.dispatch(k, { params: { n: 4, a: 2 }, buffers: { y, x }, workgroups: [1] });
  enc.submit();
  assert.deepEqual([...(await ctx.readF32(y, 4))], [12, 24, 36, 48]);
  ctx.destroy(x);
  ctx.destroy(y);
});

test('a missing, unknown or misspelled binding fails loudly, naming the kernel and the names', async () => {
  const ctx = await nodeGpu();
  const k = new Kernel(ctx, 'test.axpy', AXPY);
  const b = ctx.buffer('test.b', 16);
  const dispatch = (buffers: Record<string, GPUBuffer>) => new Encoder(ctx).dispatch(k, { params: { n: 4, a: 1 }, buffers, workgroups: [1] });
  assert.throws(() => dispatch({ x: b }), /test\.axpy: storage binding "y" was not given a buffer/);
  assert.throws(() => dispatch({ x: b, y: b, z: b }), /test\.axpy: no storage binding "z" \(it has x, y\)/);
  assert.throws(() => dispatch({ x: b, Y: b }), /no storage binding "Y"/);
  ctx.destroy(b);
});

test('a kernel whose bindings leave a gap is refused when it is made', async () => {
  const ctx = await nodeGpu();
  const gap = AXPY.replace('@binding(2)', '@binding(3)');
  assert.throws(() => new Kernel(ctx, 'test.gap', gap), /test\.gap: bindings must run 0, 1, 2, \.\.\. without gaps \(got 0, 1, 3\)/);
});
