// The dataset view's geometry and thumbnails: frustum corners land on the image corners, the
// box check names the axis, thumbnails are small and composited as the dataset says.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orbitCamera } from '../../src/data/procedural.ts';
import { boxProblem } from '../../src/run/session.ts';
import { cameraCentre, cameraSpread, frustumCorners, frustumLines, type SceneBox } from '../../src/ui/dataset-geometry.ts';
import { thumbnailPixels } from '../../src/view/view-images.ts';

test('frustum corners lie on the rays through the image corners, at the given depth', () => {
  const cam = { ...orbitCamera(0.8, 0.3, 40, 50, 3), width: 40, height: 30, cy: 15 };
  const o = cameraCentre(cam);
  const m = cam.c2w;
  const pixels: [number, number][] = [
    [0, 0],
    [40, 0],
    [40, 30],
    [0, 30],
  ];
  frustumCorners(cam, 0.5).forEach((p, i) => {
    const rel = [p[0] - o[0], p[1] - o[1], p[2] - o[2]];
    // Back into camera space (the rotation's transpose).
    const x = m[0]! * rel[0]! + m[4]! * rel[1]! + m[8]! * rel[2]!;
    const y = m[1]! * rel[0]! + m[5]! * rel[1]! + m[9]! * rel[2]!;
    const z = m[2]! * rel[0]! + m[6]! * rel[1]! + m[10]! * rel[2]!;
    assert.ok(Math.abs(z - 0.5) < 1e-12, 'at depth 0.5');
    assert.ok(Math.abs(cam.cx + (cam.fx * x) / z - pixels[i]![0]) < 1e-9);
    assert.ok(Math.abs(cam.cy + (cam.fy * y) / z - pixels[i]![1]) < 1e-9);
  });
  // 8 segments (16 points) a camera: 4 from the centre, 4 around the image.
  const lines = frustumLines([cam, cam], 0.5);
  assert.equal(lines.length, 2 * 16 * 3);
  assert.deepEqual([...lines.slice(0, 3)], o.map(Math.fround));
});

test('camera spread is the mean distance from the box centre', () => {
  const cams = [orbitCamera(0, 0, 8, 40, 4), orbitCamera(1, 0.5, 8, 40, 2)];
  const box: SceneBox = [
    [-1, -1, -1],
    [1, 1, 1],
  ];
  assert.ok(Math.abs(cameraSpread(cams, box) - 3) < 1e-9);
});

test('the box check names the axis and the numbers', () => {
  assert.equal(
    boxProblem([
      [-1, -1, -1],
      [1, 1, 1],
    ]),
    null,
  );
  assert.equal(
    boxProblem([
      [2, -1, -1],
      [1.5, 1, 1],
    ]),
    "the box's x max (1.5) must be above its min (2)",
  );
  assert.equal(
    boxProblem([
      [-1, -1, 0],
      [1, 1, 0],
    ]),
    "the box's z max (0) must be above its min (0)",
  );
  assert.equal(
    boxProblem([
      [-1, NaN, -1],
      [1, 1, 1],
    ]),
    "the box's y range must be numbers",
  );
});

test('thumbnails: at most maxSide, composited on white or kept on black', () => {
  const w = 10;
  const h = 6;
  const img = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) img.set([200, 100, 0, 128], i * 4);
  const white = thumbnailPixels(img, w, h, true, 4);
  assert.equal(white.width, 3); // factor ceil(10 / 4) = 3
  assert.equal(white.height, 2);
  // Half transparent over white.
  const a = 128 / 255;
  assert.ok(Math.abs(white.rgba[0]! - (200 * a + 255 * (1 - a))) <= 1, `red ${white.rgba[0]}`);
  assert.ok(Math.abs(white.rgba[1]! - (100 * a + 255 * (1 - a))) <= 1, `green ${white.rgba[1]}`);
  assert.equal(white.rgba[3], 255);
  const black = thumbnailPixels(img, w, h, false, 16);
  assert.equal(black.width, 10);
  assert.equal(black.rgba[0], 200);
});
