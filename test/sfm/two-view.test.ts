// Two-view geometry on synthetic pairs with known answers: a general scene with 30% outlying
// matches (calibrated, the true relative pose, the outliers out), a plane seen from two places
// (planar, posed), a camera that only turned (panoramic), and noise alone (degenerate). Seeded:
// the same matches give the same answer bit for bit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { axisAngleToRotation, mat3Mul, rotationAngle, transpose3 } from '../../src/camera/rotation.ts';
import type { V3 } from '../../src/camera/vec3.ts';
import { xorshift } from '../../src/gpu/random.ts';
import { essentialOf, type PointPair, sampsonError } from '../../src/sfm/essential.ts';
import { type Pose, toCamera } from '../../src/sfm/pose.ts';
import { twoViewGeometry } from '../../src/sfm/two-view.ts';

const rng = xorshift(7);
const uniform = (a: number, b: number) => a + (b - a) * rng();
const project = (pose: Pose, X: V3): [number, number] => {
  const c = toCamera(pose, X);
  return [c[0] / c[2], c[1] / c[2]];
};
/** A pixel's noise at a 500-pixel focal length. */
const PIXEL = 1 / 500;
const noisy = (x: [number, number]): [number, number] => [x[0] + uniform(-0.5, 0.5) * PIXEL, x[1] + uniform(-0.5, 0.5) * PIXEL];
const ID: Pose = { r: [1, 0, 0, 0, 1, 0, 0, 0, 1], t: [0, 0, 0] };
const OPTS = { threshold: 4 * PIXEL, seed: 1 };

function pairsOf(points: V3[], second: Pose): PointPair[] {
  return points.map((X) => ({ x1: noisy(project(ID, X)), x2: noisy(project(second, X)) }));
}

test('a general scene with 30% outliers: calibrated, the true pose, the outliers left out, the same answer twice', () => {
  const second: Pose = { r: axisAngleToRotation([0.05, -0.25, 0.02]), t: [1, 0.1, 0.2] };
  const points = Array.from({ length: 140 }, (): V3 => [uniform(-1.5, 1.5), uniform(-1, 1), uniform(4, 7)]);
  const pairs = pairsOf(points, second);
  for (let i = 100; i < 140; i++) pairs[i] = { x1: [uniform(-0.4, 0.4), uniform(-0.3, 0.3)], x2: [uniform(-0.4, 0.4), uniform(-0.3, 0.3)] };
  const g = twoViewGeometry(pairs, OPTS);
  assert.equal(g.kind, 'calibrated');
  const outliersKept = g.inliers.filter((i) => i >= 100).length;
  assert.ok(g.inliers.length >= 95 && outliersKept <= 2, `${g.inliers.length} inliers, ${outliersKept} of them outliers`);
  // Two views fix the pose only as well as the noise allows (a turn about y trades against a
  // sideways step): the refined pose explains its inliers at least as well as the truth does.
  const err = (rotationAngle(mat3Mul(transpose3(g.pose!.r), second.r)) * 180) / Math.PI;
  assert.ok(err < 1, `rotation error ${err}°`);
  const cost = (pose: Pose) => g.inliers.reduce((a, i) => a + sampsonError(essentialOf(pose), pairs[i]!), 0);
  const truth = { r: second.r, t: second.t.map((v) => v / Math.hypot(...second.t)) as V3 };
  assert.ok(cost(g.pose!) <= cost(truth), `Sampson cost ${cost(g.pose!)} against the truth's ${cost(truth)}`);
  const t = second.t.map((v) => v / Math.hypot(...second.t));
  const cos = g.pose!.t.reduce((a, v, k) => a + v * t[k]!, 0);
  assert.ok(cos > Math.cos((5 * Math.PI) / 180), `translation direction off by ${(Math.acos(cos) * 180) / Math.PI}°`);
  assert.ok(g.medianAngleDeg! > 5);
  assert.deepEqual(twoViewGeometry(pairs, OPTS), g, 'deterministic');
});

test('a plane seen from two places is planar and posed; a camera that only turned is panoramic; noise is degenerate', () => {
  const second: Pose = { r: axisAngleToRotation([0.1, -0.2, 0]), t: [0.8, 0, 0.1] };
  const plane = Array.from({ length: 100 }, (): V3 => {
    const [u, v] = [uniform(-1.5, 1.5), uniform(-1, 1)];
    return [u, v, 5 + 0.3 * u];
  });
  const planar = twoViewGeometry(pairsOf(plane, second), OPTS);
  assert.equal(planar.kind, 'planar');
  assert.ok((rotationAngle(mat3Mul(transpose3(planar.pose!.r), second.r)) * 180) / Math.PI < 0.5);

  const turned: Pose = { r: axisAngleToRotation([0.05, 0.3, 0]), t: [0, 0, 0] };
  const scene = Array.from({ length: 100 }, (): V3 => [uniform(-1.5, 1.5), uniform(-1, 1), uniform(4, 7)]);
  assert.equal(twoViewGeometry(pairsOf(scene, turned), OPTS).kind, 'panoramic');

  const random: PointPair[] = Array.from({ length: 100 }, () => ({
    x1: [uniform(-0.4, 0.4), uniform(-0.3, 0.3)],
    x2: [uniform(-0.4, 0.4), uniform(-0.3, 0.3)],
  }));
  assert.equal(twoViewGeometry(random, OPTS).kind, 'degenerate');
});
