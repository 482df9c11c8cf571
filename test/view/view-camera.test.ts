// The viewport's camera pose: orbit, look (fly), move, pan and zoom act as a person expects.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orbitCamera, proceduralDataset } from '../../src/data/procedural.ts';
import type { PosedView } from '../../src/data/types.ts';
import { axesOf, eyeOf, homePose, initialPose, look, move, orbit, pan, poseCamera, type Vec3, zoom } from '../../src/view/view-camera.ts';

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const close = (a: number[], b: number[], tol = 1e-9) => a.every((x, i) => Math.abs(x - b[i]!) < tol);

/** Pixel where a world point lands in a camera (OpenCV pinhole). */
function project(cam: PosedView, p: Vec3): [number, number] {
  const m = cam.c2w;
  const rel = sub(p, [m[3]!, m[7]!, m[11]!]);
  const x = m[0]! * rel[0] + m[4]! * rel[1] + m[8]! * rel[2];
  const y = m[1]! * rel[0] + m[5]! * rel[1] + m[9]! * rel[2];
  const z = m[2]! * rel[0] + m[6]! * rel[1] + m[10]! * rel[2];
  return [cam.cx + (cam.fx * x) / z, cam.cy + (cam.fy * y) / z];
}

test('the starting pose is the orbit camera the viewport always used', () => {
  const a = poseCamera(initialPose(4), 64);
  const b = orbitCamera(0.6, 0.45, 64, 40, 4);
  assert.ok(close([...a.c2w], [...b.c2w]));
  assert.equal(a.fx, b.fx);
});

test('orbit turns the eye around a fixed target at a fixed distance', () => {
  const p = { ...initialPose(4), target: [0.3, -0.2, 0.1] as Vec3 };
  const q = orbit(p, 0.7, 0.2);
  assert.deepEqual(q.target, p.target);
  const d = sub(eyeOf(q), q.target);
  assert.ok(Math.abs(Math.hypot(...d) - 4) < 1e-9);
  assert.ok(Math.hypot(...sub(eyeOf(q), eyeOf(p))) > 0.5);
  // The target stays in the image centre.
  const [x, y] = project(poseCamera(q, 64), q.target);
  assert.ok(Math.abs(x - 32) < 1e-9 && Math.abs(y - 32) < 1e-9);
  // Elevation stops short of the poles.
  assert.ok(orbit(p, 0, 10).elevation < Math.PI / 2);
});

test('look turns the view around a fixed eye: right looks right, up looks up', () => {
  const p = initialPose(4);
  const before = axesOf(p);
  const right = look(p, 0.2, 0);
  assert.ok(close(eyeOf(right), eyeOf(p)));
  assert.ok(dot(axesOf(right).forward, before.right) > 0.1, 'turned towards the old right');
  const up = look(p, 0, 0.2);
  assert.ok(close(eyeOf(up), eyeOf(p)));
  assert.ok(axesOf(up).forward[2] > before.forward[2] + 0.1, 'looks higher');
});

test('move flies along the camera axes; pan drags the scene with the pointer', () => {
  const p = initialPose(4);
  const a = axesOf(p);
  const f = move(p, 0, 0, 0.5);
  assert.ok(
    close(
      sub(eyeOf(f), eyeOf(p)),
      a.forward.map((x) => x * 0.5),
    ),
  );
  const r = move(p, 0.25, 0, 0);
  assert.ok(
    close(
      sub(eyeOf(r), eyeOf(p)),
      a.right.map((x) => x * 0.25),
    ),
  );
  const u = move(p, 0, 0.25, 0);
  assert.ok(
    close(
      sub(eyeOf(u), eyeOf(p)),
      a.down.map((x) => x * -0.25),
    ),
  );
  // Dragging by a tenth of the canvas height moves a point at the target by a tenth of the image.
  const size = 200;
  const panned = pan(p, 0.1, -0.05);
  const [x, y] = project(poseCamera(panned, size), p.target);
  assert.ok(Math.abs(x - (100 + 20)) < 1e-6, `x ${x}`);
  assert.ok(Math.abs(y - (100 - 10)) < 1e-6, `y ${y}`);
});

test('zoom changes the distance within its bounds and keeps the target', () => {
  const p = initialPose(4);
  const z = zoom(p, 0.5, 1, 10);
  assert.equal(z.distance, 2);
  assert.deepEqual(z.target, p.target);
  assert.equal(zoom(p, 0.01, 1, 10).distance, 1);
  assert.equal(zoom(p, 100, 1, 10).distance, 10);
});

test('the starting view: the orbit for a 360° capture; from the mean camera for a forward-facing one or an NDC model', () => {
  assert.deepEqual(homePose(4, { cameras: [0, 1, 2, 3, 4, 5].map((i) => orbitCamera(i, 0.3, 64, 45, 4)) }), initialPose(4));
  const fwd = proceduralDataset({ size: 8, train: 9, test: 1, layout: 'forward', background: 'environment' }).splits.train!.cameras;
  const pose = homePose(4, { cameras: fwd });
  const { forward } = axesOf(pose);
  const eye = eyeOf(pose);
  const mean = [3, 7, 11].map((k) => fwd.reduce((s, c) => s + c.c2w[k]!, 0) / fwd.length);
  assert.ok(
    eye.every((v, a) => Math.abs(v - mean[a]!) < 1e-9),
    `eye ${eye} at the mean camera ${mean}`,
  );
  assert.ok(Math.abs(forward[0] * fwd[0]!.c2w[2]! + forward[1] * fwd[0]!.c2w[6]! + forward[2] * fwd[0]!.c2w[10]! - 1) < 1e-9, 'looking as the capture looks');
  const ndc = { centre: [1, 2, 3] as Vec3, right: [1, 0, 0] as Vec3, down: [0, 0, -1] as Vec3, forward: [0, 1, 0] as Vec3, ax: 2, ay: 2, near: 0.6 };
  const fromNdc = homePose(4, { ndc });
  assert.ok(eyeOf(fromNdc).every((v, a) => Math.abs(v - ndc.centre[a]!) < 1e-9));
  assert.ok(Math.abs(axesOf(fromNdc).forward[1] - 1) < 1e-9);
});
