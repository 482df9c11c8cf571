// Keyframe choice for videos, on procedural frames: a blurred frame is less sharp than the same
// frame sharp; the patch motion reads a known shift and a still camera as still; the groups
// cover every candidate once, in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { greyOf, keyframeGroups, MIN_MOTION, motion, movedEnough, sharpness } from '../../src/data/keyframes.ts';
import { orbitCamera, renderProcedural } from '../../src/data/procedural.ts';

const SIZE = 192;
const frame = renderProcedural(orbitCamera(0.3, 0.4, SIZE, 40), 2, 'environment', 'noise');

/** The frame box-blurred with a (2r+1)² kernel, as defocus or motion blur would flatten it. */
function blurred(rgba: Uint8Array, r: number): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++)
      for (let c = 0; c < 4; c++) {
        let s = 0;
        let n = 0;
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const xx = Math.min(SIZE - 1, Math.max(0, x + dx));
            const yy = Math.min(SIZE - 1, Math.max(0, y + dy));
            s += rgba[(yy * SIZE + xx) * 4 + c]!;
            n++;
          }
        out[(y * SIZE + x) * 4 + c] = Math.round(s / n);
      }
  return out;
}

/** The frame moved `dx` pixels to the right (the edge repeated). */
function shifted(rgba: Uint8Array, dx: number): Uint8Array {
  const out = new Uint8Array(rgba.length);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) out.set(rgba.subarray((y * SIZE + Math.max(0, x - dx)) * 4, (y * SIZE + Math.max(0, x - dx)) * 4 + 4), (y * SIZE + x) * 4);
  return out;
}

test('sharpness: the variance of the Laplacian falls with blur', () => {
  const full = (rgba: Uint8Array) => sharpness(greyOf(rgba, SIZE, SIZE, SIZE));
  const sharp = full(frame);
  const soft = full(blurred(frame, 1));
  const softer = full(blurred(frame, 2));
  assert.ok(sharp > 2 * soft && soft > softer, `sharp ${sharp}, blurred ${soft}, more ${softer}`);
});

test('motion: a known shift is read, a still camera reads as still, and the threshold decides', () => {
  const a = greyOf(frame, SIZE, SIZE);
  assert.equal(motion(a, greyOf(frame, SIZE, SIZE)), 0);
  // 20 pixels of 192: about 10% of the width (measured at 96 pixels: 10 of them).
  const m = motion(a, greyOf(shifted(frame, 20), SIZE, SIZE));
  assert.ok(Math.abs(m - 20 / SIZE) <= 1.5 / 96, `median shift ${m} of the width`);
  assert.equal(movedEnough(null, a), true);
  assert.equal(movedEnough(a, greyOf(shifted(frame, 4), SIZE, SIZE)), false, `4 px is under ${MIN_MOTION} of the width`);
  assert.equal(movedEnough(a, greyOf(shifted(frame, 20), SIZE, SIZE)), true);
});

test('keyframe groups: consecutive, every candidate once, at most as many as candidates', () => {
  assert.deepEqual(keyframeGroups(7, 3), [
    [0, 1],
    [2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(keyframeGroups(2, 5), [[0], [1]]);
  const g = keyframeGroups(300, 100);
  assert.equal(g.length, 100);
  assert.deepEqual(
    g.flat(),
    Array.from({ length: 300 }, (_, i) => i),
  );
});
