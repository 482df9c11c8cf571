// Viewport pixels: depth normalised over what the rays hit (empty pixels black), opacity, and the
// error heatmap's scale.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorHeatmap, viewPixels } from '../../src/view/view-images.ts';

test('depth view: nearest surface white, farthest dark grey, empty space black', () => {
  const img = {
    width: 3,
    height: 1,
    rgb: new Float32Array(9),
    acc: new Float32Array([1, 0.5, 0.01]),
    depth: new Float32Array([2, 2, 0.05]), // expected depths 2 and 4; the third pixel is empty
  };
  const d = viewPixels(img, 'depth').rgba;
  assert.deepEqual([d[0], d[4], d[8]], [255, 55, 0]);
  const a = viewPixels(img, 'accumulation').rgba;
  assert.deepEqual([a[0], a[4], a[8]], [255, 128, 3]);
});

test('error heatmap: black where exact, red, then yellow, then white at a quarter of the range', () => {
  const truth = new Float32Array(12).fill(0.5);
  const render = new Float32Array([0.5, 0.5, 0.5, 0.55, 0.55, 0.55, 0.6667, 0.6667, 0.6667, 1, 1, 1]);
  const h = errorHeatmap(render, truth, 4, 1).rgba;
  assert.deepEqual([...h.subarray(0, 3)], [0, 0, 0]);
  assert.deepEqual([...h.subarray(4, 7)], [153, 0, 0]);
  assert.equal(h[8], 255);
  assert.ok(h[9]! > 250 && h[10]! < 3, `yellow at 2/3 (${[...h.subarray(8, 11)]})`);
  assert.deepEqual([...h.subarray(12, 15)], [255, 255, 255]);
});
