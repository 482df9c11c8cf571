// Ray generation: pixel centres, OpenCV conventions and lens distortion, checked against the
// kernel's f64 twin (camera/camera-ray.ref.ts) and by projecting the generated rays back through
// the forward lens model (camera/lens.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cameraRayRef } from '../../src/camera/camera-ray.ref.ts';
import { distort } from '../../src/camera/lens.ts';
import type { PosedView } from '../../src/data/types.ts';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { edgeBits } from '../../src/rays/edges.ts';
import { packCameras } from '../../src/rays/gpu-split.ts';
import { cameraRays, TrainingRays } from '../../src/rays/raygen.ts';

async function raysOf(cam: PosedView): Promise<Float32Array> {
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
const base: PosedView = {
  width: 9,
  height: 7,
  fx: 12,
  fy: 11,
  cx: 4.2,
  cy: 3.7,
  c2w: new Float64Array([R[0]!, R[1]!, R[2]!, 0.5, R[3]!, R[4]!, R[5]!, -2, R[6]!, R[7]!, R[8]!, 1]),
};

const LENSES: [string, Partial<PosedView>][] = [
  ['no distortion', {}],
  ['OpenCV radial-tangential', { distortion: { k1: 0.06, k2: -0.08, p1: -0.001, p2: 0.0002 } }],
  ['FULL_OPENCV (rational)', { distortion: { k1: 0.06, k2: -0.08, p1: -0.001, p2: 0.0002, k3: 0.01, k4: 0.02, k5: -0.01, k6: 0.005 } }],
  // A wide fisheye: fx 4 over 9 pixels sees about 96 degrees across.
  ['OpenCV fisheye', { fx: 4, fy: 3.8, fisheye: { k1: -0.02, k2: 0.005, k3: -0.001, k4: 0.0002 } }],
];

for (const [lens, extra] of LENSES) {
  test(`rays reproject onto their pixel centres (${lens})`, async () => {
    const cam = { ...base, ...extra };
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
        // The kernel against its twin.
        const ref = cameraRayRef(cam, i, j);
        assert.ok(
          d.every((v, k) => Math.abs(v - ref.d[k]!) < 2e-5),
          `pixel ${i},${j}: ${d} against the reference's ${ref.d}`,
        );
        // World direction into the camera frame (R transposed), then the pinhole and the lens model.
        const c = [0, 1, 2].map((a) => R[a]! * d[0]! + R[3 + a]! * d[1]! + R[6 + a]! * d[2]!);
        const [x, y] = distort(cam, c[0]! / c[2]!, c[1]! / c[2]!).p;
        assert.ok(Math.abs(cam.fx * x + cam.cx - (i + 0.5)) < 2e-3, `pixel ${i},${j} x: ${cam.fx * x + cam.cx}`);
        assert.ok(Math.abs(cam.fy * y + cam.cy - (j + 0.5)) < 2e-3, `pixel ${i},${j} y: ${cam.fy * y + cam.cy}`);
      }
    }
  });
}

test('training rays from images of several sizes: each ray carries its own image, pixel and colour', async () => {
  const ctx = await nodeGpu();
  // Three cameras of different sizes; each pixel's colour encodes (image, column, row).
  const cams: PosedView[] = [
    { ...base, width: 9, height: 7 },
    { ...base, width: 5, height: 11, cx: 2.5, cy: 5.5, c2w: Float64Array.from(base.c2w).map((v, i) => (i === 3 ? v + 1 : v)) },
    { ...base, width: 6, height: 6, cx: 3, cy: 3, c2w: Float64Array.from(base.c2w).map((v, i) => (i === 7 ? v - 1 : v)) },
  ];
  const images = cams.map((c, v) => {
    const img = new Uint8Array(c.width * c.height * 4);
    for (let j = 0; j < c.height; j++) for (let i = 0; i < c.width; i++) img.set([v * 60, i * 20, j * 20, 255], (j * c.width + i) * 4);
    return img;
  });
  const rays = new TrainingRays(ctx, { names: ['a', 'b', 'c'], cameras: cams, images, width: 9, height: 7 }, false);
  assert.equal(rays.images.pixelCount, 9 * 7 + 5 * 11 + 6 * 6);
  const n = 2000;
  const out = ctx.buffer('t.rays', n * 48);
  const enc = new Encoder(ctx);
  rays.draw(enc, out, n, 7);
  enc.submit();
  const r = await ctx.readF32(out, n * 12);
  const seen = new Set<string>();
  for (let b = 0; b < n; b++) {
    const ray = r.subarray(b * 12, b * 12 + 12);
    const [v, i, j] = [(ray[8]! * 255) / 60, (ray[9]! * 255) / 20, (ray[10]! * 255) / 20].map(Math.round);
    const cam = cams[v!]!;
    assert.ok(v! < 3 && i! < cam.width && j! < cam.height, `ray ${b}: image ${v}, pixel ${i},${j}`);
    seen.add(`${v},${i},${j}`);
    // The ray leaves that image's camera through that pixel's centre.
    assert.deepEqual(
      [ray[0]!, ray[1]!, ray[2]!].map((x) => +x.toFixed(5)),
      [cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!].map((x) => +x.toFixed(5)),
    );
    const d = [ray[4]!, ray[5]!, ray[6]!];
    const c = [0, 1, 2].map((a) => R[a]! * d[0]! + R[3 + a]! * d[1]! + R[6 + a]! * d[2]!);
    assert.ok(Math.abs((cam.fx * c[0]!) / c[2]! + cam.cx - (i! + 0.5)) < 2e-3, `ray ${b}: column`);
    assert.ok(Math.abs((cam.fy * c[1]!) / c[2]! + cam.cy - (j! + 0.5)) < 2e-3, `ray ${b}: row`);
  }
  // 2,000 draws of 154 pixels reach nearly all of them, in every image.
  assert.ok(seen.size > 140, `${seen.size} distinct pixels drawn`);
  rays.destroy();
  ctx.destroy(out);
});

/** The reference of the kernel's blurred colour: a Gaussian of σ pixels, cut at 3σ, every `stride`-th pixel past 16 a side, replicate padding. */
function blurredRef(img: Uint8Array, w: number, h: number, x: number, y: number, sigma: number): number[] {
  const reach = Math.ceil(3 * sigma);
  const stride = Math.max(1, Math.floor((reach + 15) / 16));
  const r = stride * Math.ceil(reach / stride);
  const acc = [0, 0, 0];
  let total = 0;
  for (let dy = -r; dy <= r; dy += stride) {
    for (let dx = -r; dx <= r; dx += stride) {
      const px = Math.min(w - 1, Math.max(0, x + dx));
      const py = Math.min(h - 1, Math.max(0, y + dy));
      const wt = Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
      for (let c = 0; c < 3; c++) acc[c]! += (wt * img[(py * w + px) * 4 + c]!) / 255;
      total += wt;
    }
  }
  return acc.map((v) => v / total);
}

test("pose refinement's supervision: blurred colours and edge weights match the reference", async () => {
  const ctx = await nodeGpu();
  // Two images of different sizes, each a bright square on a dark ground with a gentle ramp (its
  // border the edges), the second large enough for a strided kernel.
  const cams: PosedView[] = [
    { ...base, width: 12, height: 10 },
    { ...base, width: 90, height: 70, cx: 45, cy: 35, fx: 80, fy: 80, c2w: Float64Array.from(base.c2w).map((v, i) => (i === 3 ? v + 1 : v)) },
  ];
  const images = cams.map((c, v) => {
    const img = new Uint8Array(c.width * c.height * 4);
    for (let j = 0; j < c.height; j++)
      for (let i = 0; i < c.width; i++) {
        const inside = 3 * i > c.width && 3 * i < 2 * c.width && 3 * j > c.height && 3 * j < 2 * c.height;
        img.set([inside ? 220 : 30 + v * 20, inside ? 180 : 40, Math.round((100 * i) / c.width), 255], (j * c.width + i) * 4);
      }
    return img;
  });
  const split = { names: ['a', 'b'], cameras: cams, images, width: 12, height: 10 };
  const rays = new TrainingRays(ctx, split, false);
  const bits = edgeBits(split);
  rays.setEdges(bits);
  const edgeCount = [...bits].reduce((n, w) => n + w.toString(2).replaceAll('0', '').length, 0);
  assert.ok(edgeCount > 100 && edgeCount < 0.3 * (12 * 10 + 90 * 70), `the squares' borders are edges (${edgeCount} pixels)`);
  const n = 600;
  const out = ctx.buffer('t.rays', n * 48);
  const frac = 0.2;
  const enc = new Encoder(ctx);
  rays.draw(enc, out, n, 3, { blur: frac, edgeWeights: [1.5, 0.5] });
  enc.submit();
  const r = await ctx.readF32(out, n * 12);
  let edgesSeen = 0;
  for (let b = 0; b < n; b++) {
    const ray = r.subarray(b * 12, b * 12 + 12);
    const v = ray[3]!;
    const cam = cams[v]!;
    // The pixel, from the ray's direction through the camera.
    const d = [ray[4]!, ray[5]!, ray[6]!];
    const c = [0, 1, 2].map((a) => R[a]! * d[0]! + R[3 + a]! * d[1]! + R[6 + a]! * d[2]!);
    const i = Math.round((cam.fx * c[0]!) / c[2]! + cam.cx - 0.5);
    const j = Math.round((cam.fy * c[1]!) / c[2]! + cam.cy - 0.5);
    const want = blurredRef(images[v]!, cam.width, cam.height, i, j, frac * 0.5 * (cam.width + cam.height));
    for (let ch = 0; ch < 3; ch++)
      assert.ok(Math.abs(ray[8 + ch]! - want[ch]!) < 1e-4, `ray ${b} (image ${v}, pixel ${i},${j}) channel ${ch}: ${ray[8 + ch]} vs ${want[ch]}`);
    const p = (v === 0 ? 0 : 120) + j * cam.width + i;
    const edge = (bits[p >>> 5]! >>> (p & 31)) & 1;
    edgesSeen += edge;
    assert.equal(ray[11], edge ? 1.5 : 0.5, `ray ${b}: its loss weight`);
  }
  assert.ok(edgesSeen > 10 && edgesSeen < n - 100, `both kinds of pixel drawn (${edgesSeen} edges)`);
  rays.destroy();
  ctx.destroy(out);
});
