// The minimal solvers on random configurations with known answers: the five-point essential
// matrix (one of its solutions is the true relative pose, found again by the cheirality check),
// P3P (one of its poses is the true one), multi-view triangulation, and the polynomial roots they
// rest on. Seeded, so a failure repeats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { axisAngleToRotation, mat3Mul, rotationAngle, transpose3 } from '../../src/camera/rotation.ts';
import type { V3 } from '../../src/camera/vec3.ts';
import { xorshift } from '../../src/gpu/random.ts';
import { essentialOf, fivePoint, type PointPair, poseFromEssential, sampsonError } from '../../src/sfm/essential.ts';
import { p3p, reprojectionError2 } from '../../src/sfm/p3p.ts';
import { type Pose, toCamera } from '../../src/sfm/pose.ts';
import { realRoots } from '../../src/sfm/roots.ts';
import { triangulate } from '../../src/sfm/triangulate.ts';

const rng = xorshift(20261206);
const uniform = (a: number, b: number) => a + (b - a) * rng();
const project = (pose: Pose, X: V3): [number, number] => {
  const c = toCamera(pose, X);
  return [c[0] / c[2], c[1] / c[2]];
};
/** A camera about 4 units from the origin looking roughly at it. */
function randomPose(): Pose {
  const r = axisAngleToRotation([uniform(-0.4, 0.4), uniform(-0.4, 0.4), uniform(-0.4, 0.4)]);
  return { r, t: [uniform(-0.5, 0.5), uniform(-0.5, 0.5), uniform(3.5, 4.5)] };
}
const randomPoint = (): V3 => [uniform(-1, 1), uniform(-1, 1), uniform(-1, 1)];
const rotationErrorDeg = (a: number[], b: number[]) => (rotationAngle(mat3Mul(transpose3(a), b)) * 180) / Math.PI;
const unitT = (t: V3): V3 => t.map((v) => v / Math.hypot(...t)) as V3;

test('real roots: of a known quartic, a cubic with complex roots, and a leading zero', () => {
  // (x − 1)(x + 2)(x − 3)(x + 0.5) = x⁴ − 1.5x³ − 6x² + 3.5x + 3
  const r = realRoots([3, 3.5, -6, -1.5, 1]);
  assert.deepEqual(
    r.map((x) => +x.toFixed(10)),
    [-2, -0.5, 1, 3],
  );
  // (x − 2)(x² + 1)
  assert.deepEqual(
    realRoots([-2, 1, -2, 1]).map((x) => +x.toFixed(10)),
    [2],
  );
  assert.deepEqual(realRoots([-4, 2, 0]), [2]);
});

test('five-point: one essential matrix of five random pairs is the true relative pose (50 configurations)', () => {
  for (let trial = 0; trial < 50; trial++) {
    const a = randomPose();
    const b = randomPose();
    // The relative pose of b with a at the identity: x_b = R_b R_aᵀ (x_a − t_a) + t_b.
    const r = mat3Mul(b.r, transpose3(a.r));
    const rt = r.slice(0, 3).map((_, i) => r[i * 3]! * a.t[0] + r[i * 3 + 1]! * a.t[1] + r[i * 3 + 2]! * a.t[2]);
    const rel: Pose = { r, t: b.t.map((v, k) => v - rt[k]!) as V3 };
    const points = Array.from({ length: 5 }, randomPoint);
    const pairs: PointPair[] = points.map((X) => ({ x1: project(a, X), x2: project(b, X) }));
    const es = fivePoint(pairs);
    assert.ok(es.length >= 1 && es.length <= 10, `trial ${trial}: ${es.length} solutions`);
    for (const e of es) for (const p of pairs) assert.ok(sampsonError(e, p) < 1e-16, `trial ${trial}: every solution satisfies the five constraints`);
    const truth = essentialOf({ r: rel.r, t: unitT(rel.t) });
    const match = es.find(
      (e) =>
        e.every((v, k) => Math.abs(v - truth[k]! / Math.hypot(...truth)) < 1e-6) || e.every((v, k) => Math.abs(v + truth[k]! / Math.hypot(...truth)) < 1e-6),
    );
    assert.ok(match, `trial ${trial}: the true E is among the ${es.length} solutions`);
    const { pose, inFront } = poseFromEssential(match!, pairs);
    assert.equal(inFront, 5);
    assert.ok(rotationErrorDeg(pose.r, rel.r) < 1e-4, `trial ${trial}: rotation off by ${rotationErrorDeg(pose.r, rel.r)}°`);
    assert.ok(
      unitT(pose.t).every((v, k) => Math.abs(v - unitT(rel.t)[k]!) < 1e-5),
      `trial ${trial}: translation direction`,
    );
  }
});

test('P3P: one of the poses of three random points is the true one, and reprojects a fourth (50 configurations)', () => {
  for (let trial = 0; trial < 50; trial++) {
    const pose = randomPose();
    const X = Array.from({ length: 4 }, randomPoint);
    const x = X.map((p) => project(pose, p));
    const poses = p3p(x.slice(0, 3), X.slice(0, 3));
    assert.ok(poses.length >= 1 && poses.length <= 4, `trial ${trial}: ${poses.length} poses`);
    const best = poses.reduce((a, b) => (reprojectionError2(a, X[3]!, x[3]!) <= reprojectionError2(b, X[3]!, x[3]!) ? a : b));
    assert.ok(rotationErrorDeg(best.r, pose.r) < 1e-4, `trial ${trial}: rotation off by ${rotationErrorDeg(best.r, pose.r)}°`);
    assert.ok(
      best.t.every((v, k) => Math.abs(v - pose.t[k]!) < 1e-5),
      `trial ${trial}: t ${best.t} vs ${pose.t}`,
    );
  }
});

test('triangulation: exact from two to six views, close to the point under noise', () => {
  for (let trial = 0; trial < 20; trial++) {
    const X = randomPoint();
    const views = Array.from({ length: 2 + (trial % 5) }, () => randomPose());
    const got = triangulate(views.map((pose) => ({ pose, x: project(pose, X) })))!;
    assert.ok(
      got.every((v, k) => Math.abs(v - X[k]!) < 1e-9),
      `trial ${trial}: ${got} vs ${X}`,
    );
    const noisy = triangulate(views.map((pose) => ({ pose, x: project(pose, X).map((v) => v + uniform(-1e-4, 1e-4)) as [number, number] })))!;
    assert.ok(Math.hypot(...noisy.map((v, k) => v - X[k]!)) < 0.01, `trial ${trial}: noisy point within 1 cm`);
  }
});
