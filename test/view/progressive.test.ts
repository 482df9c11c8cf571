// Progressive rendering's plan: frame sizes from measured times, bands that cover a frame exactly,
// pacing to a share of GPU time, and band cameras that see exactly their part of the image.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { TensorField } from '../../src/field/field.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { ViewRenderer } from '../../src/render/view-renderer.ts';
import { FrameTimer, MIN_BAND_PIXELS, MIN_SIDE, paceDelay, tileCamera, tilesOf } from '../../src/view/progressive.ts';

test('frame sizes follow the measured cost: a fast GPU gets the full canvas at once, a slow one a small frame', () => {
  const t = new FrameTimer(30);
  // Nothing measured yet: the smallest frame.
  assert.equal(t.interactionSide(1000), MIN_SIDE);
  // 1 µs per pixel: 33 ms holds 33,333 pixels, a 182-pixel square.
  t.record(10_000, 10);
  assert.equal(t.interactionSide(1000), 182);
  // A GPU 100× faster fills a 1000-pixel canvas within the frame.
  const fast = new FrameTimer(30);
  fast.record(1_000_000, 1);
  assert.equal(fast.interactionSide(1000), 1000);
  // Very slow: never below the minimum (nor above a canvas smaller than it).
  const slow = new FrameTimer(30);
  slow.record(100, 1000);
  assert.equal(slow.interactionSide(1000), MIN_SIDE);
  assert.equal(slow.interactionSide(20), 20);
  // Measurements that mean nothing are ignored.
  slow.record(0, 5);
  slow.record(10, Number.NaN);
  assert.equal(slow.interactionSide(1000), MIN_SIDE);
});

test('the cost model separates a fixed cost per render from the cost per pixel', () => {
  // 20 ms per render plus 0.1 µs per pixel, seen through renders of several sizes.
  const t = new FrameTimer(30);
  for (const px of [1000, 4096, 20_000, 100_000]) t.record(px, 20 + px * 1e-4);
  const [fixed, perPixel] = t.model!;
  assert.ok(Math.abs(fixed - 20) < 1e-6 && Math.abs(perPixel - 1e-4) < 1e-9, `fitted ${fixed} ms + ${perPixel} ms/pixel`);
  // A frame (33.3 ms) leaves 13.3 ms for pixels: 133,333 of them.
  assert.equal(Math.round(t.framePixels), 133_333);
  // Were the fixed cost folded into the per-pixel one (one-row bands, 1000 pixels in 20.1 ms), a
  // frame would be sized to 1,658 pixels: far too small.
  // When the fixed cost alone exceeds a frame, the interaction frame is the smallest, and bands
  // are still at least a batch.
  const slow = new FrameTimer(30);
  for (const px of [1000, 8000]) slow.record(px, 50 + px * 1e-3);
  assert.equal(slow.framePixels, 0);
  assert.equal(slow.interactionSide(500), MIN_SIDE);
  assert.equal(slow.bandPixels, MIN_BAND_PIXELS);
});

test('bands cover a frame exactly once, each within the pixel budget (at least a row)', () => {
  for (const [w, h, max] of [
    [100, 37, 1000],
    [64, 64, 64 * 64],
    [50, 50, 10],
    [7, 300, 1e9],
  ] as const) {
    const tiles = tilesOf(w, h, max);
    let covered = 0;
    let y = 0;
    for (const t of tiles) {
      assert.equal(t.x, 0);
      assert.equal(t.width, w);
      assert.equal(t.y, y, 'bands follow each other');
      assert.ok(t.width * t.height <= Math.max(max, w), `band within ${max} pixels`);
      y += t.height;
      covered += t.width * t.height;
    }
    assert.equal(covered, w * h);
  }
});

test('pacing keeps renders to their share of GPU time', () => {
  // A 10 ms render at a quarter share is followed by 30 ms of training.
  assert.equal(paceDelay(10, 0.25, 0), 30);
  assert.equal(paceDelay(10, 0.25, 12), 18);
  assert.equal(paceDelay(10, 0.25, 100), 0);
  assert.equal(paceDelay(10, 1, 0), 0, 'a full share never waits');
  assert.equal(paceDelay(0, 0.1, 0), 0, 'nothing rendered yet');
});

test('a frame drawn band by band through band cameras equals the frame drawn at once', async () => {
  const ctx = await nodeGpu();
  const ds = proceduralDataset({ size: 12, train: 2, test: 1 });
  // Substantial opacity and colour from the random init, so the frame has something to show.
  const settings = {
    ...MODEL_PRESETS.slimmerf8,
    densityComps: [4, 4, 4],
    appComps: [12, 12, 12],
    shading: { mode: 'MLP_Fea' as const, appDim: 6, viewPe: 1, feaPe: 1, featureC: 8 },
    densityShift: 0,
    initStd: 0.6,
  };
  const field = new TensorField(ctx, settings, { lo: ds.aabb[0], hi: ds.aabb[1] }, [10, 9, 8], 4);
  const renderer = new ViewRenderer(ctx, field, ds.nearFar, 64);
  const cam = { ...ds.splits.test!.cameras[0]!, width: 20, height: 17, fx: 24, fy: 24, cx: 10.5, cy: 8 };
  const whole = await renderer.render(cam, 1);
  const banded = new Float32Array(whole.rgb.length);
  for (const t of tilesOf(cam.width, cam.height, 3 * cam.width)) {
    const part = await renderer.render(tileCamera(cam, t), 1);
    for (let y = 0; y < t.height; y++) banded.set(part.rgb.subarray(y * t.width * 3, (y + 1) * t.width * 3), ((t.y + y) * cam.width + t.x) * 3);
  }
  let worst = 0;
  for (let i = 0; i < banded.length; i++) worst = Math.max(worst, Math.abs(banded[i]! - whole.rgb[i]!));
  assert.ok(worst < 1e-5, `bands differ from the whole frame by ${worst}`);
  // The comparison means something: a band camera whose principal point was not shifted sees
  // other pixels, and they differ.
  const last = tilesOf(cam.width, cam.height, 3 * cam.width).at(-1)!;
  const unshifted = await renderer.render({ ...cam, height: last.height }, 1);
  let off = 0;
  for (let i = 0; i < unshifted.rgb.length; i++) off = Math.max(off, Math.abs(unshifted.rgb[i]! - whole.rgb[last.y * cam.width * 3 + i]!));
  assert.ok(off > 1e-3, `an unshifted band differs (by ${off})`);
  renderer.destroy();
  field.destroy();
});
