// Bundle adjustment recovers a perturbed synthetic problem: eight cameras around 200 points, the
// poses, points, focal length and radial distortion all moved, the first camera and the second's
// scale held (the gauge); the adjustment returns to the truth. Its projection's Jacobians are
// checked against central differences, and outlying observations are held back by Huber's loss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { axisAngleToRotation, mat3Mul, rotationAngle, transpose3 } from '../../src/camera/rotation.ts';
import type { V3 } from '../../src/camera/vec3.ts';
import { xorshift } from '../../src/gpu/random.ts';
import { type BundleProblem, bundleAdjust, projectRadial, type RadialCamera } from '../../src/sfm/bundle.ts';
import { type Pose, toCamera } from '../../src/sfm/pose.ts';

const rng = xorshift(5);
const uniform = (a: number, b: number) => a + (b - a) * rng();

/** Cameras on a circle of radius 4 looking at the origin (OpenCV axes, world z up). */
function ring(n: number): Pose[] {
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    const c: V3 = [4 * Math.cos(a), 4 * Math.sin(a), 0.8];
    const f = c.map((v) => -v / Math.hypot(...c)) as V3; // forward
    const right = [f[1], -f[0], 0].map((v) => v / Math.hypot(f[0], f[1])) as V3;
    const down: V3 = [f[1] * right[2] - f[2] * right[1], f[2] * right[0] - f[0] * right[2], f[0] * right[1] - f[1] * right[0]];
    const r = [...right, ...down, ...f]; // rows: camera axes in the world
    const t = [0, 1, 2].map((k) => -(r[k * 3]! * c[0] + r[k * 3 + 1]! * c[1] + r[k * 3 + 2]! * c[2])) as V3;
    return { r, t };
  });
}

/**
 * `frame: 'first camera'` puts the world in the first camera's frame, as the mapper's world is its
 * initial pair's first image: the second image's largest translation component (the scale held) is
 * then sideways, not along its axis.
 */
function syntheticProblem(frame: 'world' | 'first camera' = 'world'): { truth: BundleProblem; problem: BundleProblem } {
  const cam: RadialCamera = { f: 300, cx: 160, cy: 120, k1: -0.05 };
  let poses = ring(8);
  let points = Array.from({ length: 200 }, (): V3 => [uniform(-1, 1), uniform(-1, 1), uniform(-1, 1)]);
  if (frame === 'first camera') {
    const first = poses[0]!;
    poses = poses.map(({ r, t }) => {
      const rr = mat3Mul(r, transpose3(first.r));
      const rt = toCamera({ r: rr, t: [0, 0, 0] }, first.t);
      return { r: rr, t: [t[0] - rt[0], t[1] - rt[1], t[2] - rt[2]] };
    });
    points = points.map((X) => toCamera(first, X));
  }
  const observations = poses.flatMap((pose, image) =>
    points.flatMap((X, point) => {
      const pr = projectRadial(cam, toCamera(pose, X));
      return pr && pr.uv[0] > 0 && pr.uv[0] < 320 && pr.uv[1] > 0 && pr.uv[1] < 240 ? [{ image, point, uv: pr.uv }] : [];
    }),
  );
  const truth: BundleProblem = { cameras: [cam], images: poses.map((pose) => ({ camera: 0, pose })), points, observations };
  const problem: BundleProblem = {
    cameras: [{ ...cam, f: 315, k1: 0 }],
    images: poses.map((pose, i) => {
      if (i === 0) return { camera: 0, pose };
      const r = mat3Mul(axisAngleToRotation([uniform(-0.01, 0.01), uniform(-0.01, 0.01), uniform(-0.01, 0.01)]), pose.r);
      // The second image keeps its largest translation component (the scale).
      const big = pose.t.map(Math.abs).indexOf(Math.max(...pose.t.map(Math.abs)));
      const t = pose.t.map((v, k) => (i === 1 && k === big ? v : v + uniform(-0.05, 0.05))) as V3;
      return { camera: 0, pose: { r, t } };
    }),
    points: points.map((p) => p.map((v) => v + uniform(-0.03, 0.03)) as V3),
    observations,
  };
  return { truth, problem };
}

test('the projection’s Jacobians against central differences', () => {
  const cam: RadialCamera = { f: 300, cx: 160, cy: 120, k1: -0.08 };
  const X: V3 = [0.3, -0.2, 2.5];
  const got = projectRadial(cam, X)!;
  const h = 1e-6;
  for (let k = 0; k < 3; k++) {
    const a = [...X] as V3;
    const b = [...X] as V3;
    a[k] += h;
    b[k] -= h;
    for (let r = 0; r < 2; r++) {
      const fd = (projectRadial(cam, a)!.uv[r]! - projectRadial(cam, b)!.uv[r]!) / (2 * h);
      assert.ok(Math.abs(fd - got.dXc[r * 3 + k]!) < 1e-5, `∂uv${r}/∂X${k}`);
    }
  }
  for (const [j, key] of [
    [0, 'f'],
    [1, 'k1'],
  ] as const) {
    for (let r = 0; r < 2; r++) {
      const fd = (projectRadial({ ...cam, [key]: cam[key] + h }, X)!.uv[r]! - projectRadial({ ...cam, [key]: cam[key] - h }, X)!.uv[r]!) / (2 * h);
      assert.ok(Math.abs(fd - got.dIntr[r * 2 + j]!) < 1e-5, `∂uv${r}/∂${key}`);
    }
  }
});

for (const frame of ['world', 'first camera'] as const)
  test(`bundle adjustment returns a perturbed problem to the truth (poses, points, focal, k1), the same answer twice (world in the ${frame}'s frame)`, () => {
    const { truth, problem } = syntheticProblem(frame);
    const big = (t: readonly number[]) => t.map(Math.abs).indexOf(Math.max(...t.map(Math.abs)));
    assert.equal(big(truth.images[1]!.pose.t), frame === 'world' ? 2 : 0, 'the scale held along the axis, or sideways');
    const again = structuredClone(problem);
    const report = bundleAdjust(problem, { fixedImages: new Set([0]), scaleImage: 1, huber: 1 });
    assert.ok(report.initialRmse > 2, `started ${report.initialRmse} px off`);
    assert.ok(report.finalRmse < 1e-6, `ended ${report.finalRmse} px off after ${report.iterations} iterations`);
    assert.ok(
      Math.abs(problem.cameras[0]!.f - 300) < 1e-5 && Math.abs(problem.cameras[0]!.k1 + 0.05) < 1e-7,
      `f ${problem.cameras[0]!.f}, k1 ${problem.cameras[0]!.k1}`,
    );
    problem.images.forEach((im, i) => {
      const deg = (rotationAngle(mat3Mul(transpose3(im.pose.r), truth.images[i]!.pose.r)) * 180) / Math.PI;
      assert.ok(deg < 1e-5, `image ${i}: ${deg}°`);
      assert.ok(im.pose.t.every((v, k) => Math.abs(v - truth.images[i]!.pose.t[k]!) < 1e-6));
    });
    bundleAdjust(again, { fixedImages: new Set([0]), scaleImage: 1, huber: 1 });
    assert.deepEqual(again.images, problem.images, 'deterministic');
  });

test('gross outliers are held back by Huber’s loss', () => {
  const worst = (huber: number) => {
    const { truth, problem } = syntheticProblem();
    const obs = problem.observations.map((o, k) => (k % 25 === 0 ? { ...o, uv: [o.uv[0] + 40, o.uv[1] - 30] as const } : o));
    bundleAdjust({ ...problem, observations: obs }, { fixedImages: new Set([0]), scaleImage: 1, huber });
    return Math.max(...problem.images.map((im, i) => (rotationAngle(mat3Mul(transpose3(im.pose.r), truth.images[i]!.pose.r)) * 180) / Math.PI));
  };
  const robust = worst(1);
  const plain = worst(1e9);
  assert.ok(robust < 0.2 && robust < plain / 3, `with 4% of the observations 50 px off: ${robust}° under Huber's loss, ${plain}° under squares`);
});
