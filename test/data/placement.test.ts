// Placing a capture whose coordinates are arbitrary (COLMAP, nerfstudio): cameras we know, in a
// world turned by 0.9 rad about (2, -1, 3), scaled by 3.7 and moved by (5, -2, 8), must come back
// upright, centred on what they show and at a known scale.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V3 } from '../../src/camera/vec3.ts';
import { focusPoint, placeCapture, placePoint, placePose } from '../../src/data/placement.ts';
import { orbitCamera } from '../../src/data/procedural.ts';
import { apply } from '../fixtures/rig.ts';

const AXIS = [2, -1, 3].map((v) => v / Math.hypot(2, -1, 3)) as V3;
const A = 0.9;
const K = [
  [0, -AXIS[2], AXIS[1]],
  [AXIS[2], 0, -AXIS[0]],
  [-AXIS[1], AXIS[0], 0],
];
// Rodrigues: I + sin(a) K + (1 − cos(a)) K².
const TURN = [0, 1, 2].flatMap((i) =>
  [0, 1, 2].map((j) => (i === j ? 1 : 0) + Math.sin(A) * K[i]![j]! + (1 - Math.cos(A)) * [0, 1, 2].reduce((s, k) => s + K[i]![k]! * K[k]![j]!, 0)),
);
const SCALE = 3.7;
const MOVE = [5, -2, 8];
const away = (p: ArrayLike<number>) => apply(TURN, p).map((v, i) => SCALE * v + MOVE[i]!);
function awayPose(c2w: Float64Array): Float64Array {
  const out = new Float64Array(12);
  for (let col = 0; col < 3; col++) {
    const v = apply(TURN, [c2w[col]!, c2w[4 + col]!, c2w[8 + col]!]);
    for (let r = 0; r < 3; r++) out[r * 4 + col] = v[r]!;
  }
  away([c2w[3]!, c2w[7]!, c2w[11]!]).forEach((v, r) => {
    out[r * 4 + 3] = v;
  });
  return out;
}

const TARGET: V3 = [0.3, -0.2, 0.1];
const golden = Math.PI * (3 - Math.sqrt(5));
/** 24 cameras on the upper half of a sphere of radius 4 around TARGET, looking at it. */
const ORBIT = Array.from({ length: 24 }, (_, i) => orbitCamera(i * golden, Math.asin(0.1 + (0.8 * i) / 24), 16, 40, 4, TARGET).c2w);
/** Nine cameras in a 0.6 × 0.4 patch of one plane, all looking along +y (LLFF's layout). */
const FORWARD = Array.from({ length: 9 }, (_, i) => Float64Array.from([1, 0, 0, 0.3 * (i % 3), 0, 0, 1, 0, 0, -1, 0, 0.2 * Math.floor(i / 3)]));
const near = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) < tol;

function meanUp(c2ws: Float64Array[]): number[] {
  const up = c2ws.reduce((s, m) => [s[0]! - m[1]!, s[1]! - m[5]!, s[2]! - m[9]!], [0, 0, 0]);
  return up.map((v) => v / Math.hypot(...up));
}

test('the point an orbit looks at is found, wherever the orbit is; parallel axes have none', () => {
  const f = focusPoint(ORBIT.map(awayPose))!;
  const want = away(TARGET);
  assert.ok(
    [0, 1, 2].every((k) => near(f[k]!, want[k]!)),
    `focus ${f} vs ${want}`,
  );
  assert.equal(focusPoint(FORWARD.map(awayPose)), null);
});

test('a masked capture without points: upright, centred on what the cameras look at, the cameras 4 units away (instant-ngp scale)', () => {
  const p = placeCapture(ORBIT.map(awayPose), undefined, true);
  const placed = ORBIT.map((c) => placePose(p, awayPose(c)));
  const up = meanUp(placed);
  assert.ok(near(up[0]!, 0) && near(up[1]!, 0) && near(up[2]!, 1), `mean up ${up}`);
  const target = placePoint(p, away(TARGET));
  assert.ok(
    target.every((v) => near(v, 0)),
    `target at ${target}`,
  );
  for (const c of placed) assert.ok(near(Math.hypot(c[3]!, c[7]!, c[11]!), 4), 'camera distance');
  assert.deepEqual(
    p.box.map((c) => c.map((v) => Math.round(v * 1e9) / 1e9)),
    [
      [-1.5, -1.5, -1.5],
      [1.5, 1.5, 1.5],
    ],
  );
  // Rotations stay rotations: the placed pose's axes are orthonormal.
  const c = placed[5]!;
  for (let i = 0; i < 3; i++) assert.ok(near(Math.hypot(c[i]!, c[4 + i]!, c[8 + i]!), 1), 'unit axis');
});

test('a capture that shows its surroundings, without points: the box of the camera centres within [-1.5, 1.5]', () => {
  const p = placeCapture(ORBIT.map(awayPose), undefined, false);
  const placed = ORBIT.map((c) => placePose(p, awayPose(c)));
  const half = [0, 1, 2].map((k) => (p.box[1][k] - p.box[0][k]) / 2);
  assert.ok(near(Math.max(...half), 1.5), `box ${p.box}`);
  for (const c of placed)
    assert.ok(
      [3, 7, 11].every((j, k) => c[j]! >= p.box[0][k] && c[j]! <= p.box[1][k]),
      'camera inside the box',
    );
  // Forward-facing cameras (no focus point) are placed the same way, masked or not.
  const forward = FORWARD.map(awayPose);
  assert.deepEqual(placeCapture(forward, undefined, true), placeCapture(forward, undefined, false));
});

test('sparse points set the box (strays ignored); one camera and no points leave the world as it is', () => {
  const xyz: number[] = [];
  for (let i = 0; i < 500; i++) xyz.push(...away([Math.sin(i * 1.3), Math.cos(i * 2.1), Math.sin(i * 0.7) * 0.5]));
  xyz.push(...away([400, 0, 0]));
  const p = placeCapture(ORBIT.map(awayPose), Float64Array.from(xyz), false);
  const half = [0, 1, 2].map((k) => (p.box[1][k] - p.box[0][k]) / 2);
  assert.ok(near(Math.max(...half), 1.5) && Math.min(...half) > 0.5, `box ${p.box}`);
  assert.ok(
    placePoint(p, away([400, 0, 0])).some((v) => Math.abs(v) > 100),
    'the stray lies far outside',
  );
  const one = placeCapture([awayPose(ORBIT[0]!)], undefined, false);
  assert.equal(one.scale, 1);
  assert.deepEqual(one.centre, [0, 0, 0]);
  assert.deepEqual(placePose(one, awayPose(ORBIT[0]!)), awayPose(ORBIT[0]!));
});
