// The TV regularizer kernel against finite differences of the reference formula (utils.TVLoss),
// including its in-place conversion of the fixed-point gradient.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachedKernel, Encoder, grid1d } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal } from '../../src/gpu/random.ts';
import { GRAD_SCALE } from '../../src/gpu/wgsl.ts';
import { tvWgsl } from '../../src/train/tv.wgsl.ts';

/** TVLoss of a channels-last [h][w][k] tensor. */
function tvLoss(x: ArrayLike<number>, w: number, h: number, k: number): number {
  let dh = 0;
  let dw = 0;
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++)
      for (let c = 0; c < k; c++) {
        const v = x[(y * w + xx) * k + c]!;
        if (y + 1 < h) dh += (x[((y + 1) * w + xx) * k + c]! - v) ** 2;
        if (xx + 1 < w) dw += (x[(y * w + xx + 1) * k + c]! - v) ** 2;
      }
  return 2 * (dh / (k * Math.max(h - 1, 1) * w) + dw / (k * h * Math.max(w - 1, 1)));
}

for (const [w, h, k] of [
  [7, 5, 3],
  [1, 9, 2],
] as const) {
  for (const f32 of [false, true])
    test(`TV gradient on a ${h}x${w}x${k} tensor matches finite differences; the ${f32 ? 'f32' : 'fixed-point'} gradient before it kept`, async () => {
      const ctx = await nodeGpu();
      const n = w * h * k;
      const offset = 64;
      const x = randomNormal(n, 1, w * 100 + h);
      const all = new Float32Array(offset + n);
      all.set(x, offset);
      const params = ctx.upload('tv.params', all);
      const before = f32 ? new Float32Array(offset + n) : new Int32Array(offset + n);
      for (let i = 0; i < n; i++) before[offset + i] = f32 ? 0.25 * (i % 3) : Math.round(0.25 * (i % 3) * GRAD_SCALE);
      const grads = ctx.upload('tv.grads', before);
      const weight = 0.7;
      const enc = new Encoder(ctx);
      enc.dispatch(
        cachedKernel(ctx, 'tv', () => tvWgsl),
        {
          params: { offset, width: w, height: h, k, weight, grads_f32: f32 ? 1 : 0 },
          buffers: { p: params, grads },
          workgroups: grid1d(ctx, n, 256),
        },
      );
      enc.submit();
      const got = await ctx.readF32(grads, n, offset);
      const x64 = Float64Array.from(x);
      for (let i = 0; i < n; i++) {
        const eps = 1e-5;
        const p = Float64Array.from(x64);
        p[i]! += eps;
        const m = Float64Array.from(x64);
        m[i]! -= eps;
        const fd = (weight * (tvLoss(p, w, h, k) - tvLoss(m, w, h, k))) / (2 * eps);
        const want = 0.25 * (i % 3) + fd;
        assert.ok(Math.abs(got[i]! - want) < 1e-4 + 1e-3 * Math.abs(want), `entry ${i}: ${got[i]} vs ${want}`);
      }
      ctx.destroy(params);
      ctx.destroy(grads);
    });
}
