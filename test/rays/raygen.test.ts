// Ray generation: pixel centres, OpenCV conventions and lens distortion, checked by projecting
// the generated rays back through the camera model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Camera } from '../../src/data/types.ts';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { packCameras } from '../../src/rays/gpu-split.ts';
import { cameraRays } from '../../src/rays/raygen.ts';

async function raysOf(cam: Camera): Promise<Float32Array> {
  const ctx = await nodeGpu();
  const n = cam.width * cam.height;
  const cams = ctx.upload('t.cams', packCameras([cam]));
  const rays = ctx.buffer('t.rays', n * 48);
  const enc = new Encoder(ctx);
  cameraRays(ctx, enc, cams, cam, 0, n, rays);
  enc.submit();
  const out = await ctx.readF32(rays, n * 12);
  for (const b of [cams, rays]) ctx.destroy(b);
  return out;
}

// A rotated camera (OpenCV axes) at (0.5, -2, 1).
const R = [0.8, 0, 0.6, 0, 1, 0, -0.6, 0, 0.8];
const base: Camera = {
  width: 9,
  height: 7,
  fx: 12,
  fy: 11,
  cx: 4.2,
  cy: 3.7,
  c2w: new Float64Array([R[0]!, R[1]!, R[2]!, 0.5, R[3]!, R[4]!, R[5]!, -2, R[6]!, R[7]!, R[8]!, 1]),
};

for (const distortion of [undefined, { k1: 0.06, k2: -0.08, p1: -0.001, p2: 0.0002 }]) {
  test(`rays reproject onto their pixel centres (${distortion ? 'with' : 'without'} distortion)`, async () => {
    const cam = { ...base, distortion };
    const rays = await raysOf(cam);
    for (let j = 0; j < cam.height; j++) {
      for (let i = 0; i < cam.width; i++) {
        const r = rays.subarray((j * cam.width + i) * 12);
        assert.deepEqual(
          [r[0], r[1], r[2]].map((v) => +v!.toFixed(5)),
          [0.5, -2, 1],
        );
        const d = [r[4]!, r[5]!, r[6]!];
        assert.ok(Math.abs(Math.hypot(...d) - 1) < 1e-5, 'unit direction');
        // World direction into the camera frame (R transposed), then the pinhole + distortion model.
        const c = [0, 1, 2].map((a) => R[a]! * d[0]! + R[3 + a]! * d[1]! + R[6 + a]! * d[2]!);
        let [x, y] = [c[0]! / c[2]!, c[1]! / c[2]!];
        if (distortion) {
          const { k1, k2, p1, p2 } = distortion;
          const r2 = x * x + y * y;
          const rad = 1 + k1 * r2 + k2 * r2 * r2;
          [x, y] = [x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y];
        }
        assert.ok(Math.abs(cam.fx * x + cam.cx - (i + 0.5)) < 2e-3, `pixel ${i},${j} x`);
        assert.ok(Math.abs(cam.fy * y + cam.cy - (j + 0.5)) < 2e-3, `pixel ${i},${j} y`);
      }
    }
  });
}
