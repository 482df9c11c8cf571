// Camera geometry in f64: the lens models' Jacobians against finite differences, unproject as
// project's inverse for every lens the readers accept, and SO(3)/SE(3) exp and log as inverses
// (also near 0 and π, where the closed forms lose precision), quaternions both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distort, project, unproject } from '../../src/camera/lens.ts';
import { axisAngleToRotation, quaternionOf, quaternionToRotation, rotationToAxisAngle, se3Exp, se3Log } from '../../src/camera/rotation.ts';
import type { Intrinsics } from '../../src/camera/types.ts';
import type { V3 } from '../../src/camera/vec3.ts';

const BASE: Intrinsics = { width: 640, height: 480, fx: 500, fy: 520, cx: 318.5, cy: 241.2 };
const LENSES: [string, Intrinsics][] = [
  ['pinhole', BASE],
  ['OpenCV radial-tangential', { ...BASE, distortion: { k1: 0.06, k2: -0.08, p1: -0.001, p2: 0.0002 } }],
  ['FULL_OPENCV (rational)', { ...BASE, distortion: { k1: 0.06, k2: -0.08, p1: -0.001, p2: 0.0002, k3: 0.01, k4: 0.02, k5: -0.01, k6: 0.005 } }],
  ['OpenCV fisheye', { ...BASE, fx: 200, fy: 200, fisheye: { k1: -0.02, k2: 0.005, k3: -0.001, k4: 0.0002 } }],
];
const POINTS: V3[] = [
  [0.3, -0.2, 2],
  [-0.5, 0.4, 1.5],
  [0, 0, 3],
  [0.01, 0.7, 1.1],
];

for (const [name, intr] of LENSES) {
  test(`lens (${name}): project's Jacobian against central differences, unproject its inverse`, () => {
    for (const p of POINTS) {
      const got = project(intr, p)!;
      const h = 1e-6;
      for (let k = 0; k < 3; k++) {
        const plus = [...p] as V3;
        const minus = [...p] as V3;
        plus[k] += h;
        minus[k] -= h;
        const a = project(intr, plus)!.uv;
        const b = project(intr, minus)!.uv;
        for (let r = 0; r < 2; r++) {
          const fd = (a[r]! - b[r]!) / (2 * h);
          assert.ok(Math.abs(fd - got.J[r * 3 + k]!) < 1e-4 * Math.max(1, Math.abs(fd)), `${name} ∂uv${r}/∂p${k}: ${got.J[r * 3 + k]} vs ${fd}`);
        }
      }
      const [x, y] = unproject(intr, ...got.uv);
      assert.ok(Math.abs(x - p[0] / p[2]) < 1e-9 && Math.abs(y - p[1] / p[2]) < 1e-9, `${name}: unproject ${x},${y} of ${p}`);
      const d = distort(intr, p[0] / p[2], p[1] / p[2]);
      assert.ok(Math.abs(intr.fx * d.p[0] + intr.cx - got.uv[0]) < 1e-9);
    }
    assert.equal(project(intr, [0, 0, -1]), null, 'a point behind the camera has no image');
  });
}

test('SO(3): log is exp’s inverse, also near θ = 0 and θ = π', () => {
  const axes: V3[] = [
    [1, 0, 0],
    [0.6, -0.8, 0],
    [0.2, 0.3, -0.9327379053],
  ];
  for (const a of axes) {
    for (const th of [0, 1e-9, 1e-5, 0.3, 2, Math.PI - 1e-3, Math.PI - 1e-6]) {
      const w = a.map((v) => v * th) as V3;
      const back = rotationToAxisAngle(axisAngleToRotation(w));
      assert.ok(
        back.every((v, k) => Math.abs(v - w[k]!) < 1e-6),
        `θ=${th}: ${back} vs ${w}`,
      );
    }
  }
  // At exactly π the axis is defined up to sign; exp of either is the same rotation.
  const r = axisAngleToRotation([Math.PI, 0, 0]);
  const back = axisAngleToRotation(rotationToAxisAngle(r));
  assert.ok(back.every((v, k) => Math.abs(v - r[k]!) < 1e-9));
});

test('SE(3): log is exp’s inverse; quaternions round-trip with COLMAP’s convention', () => {
  for (const xi of [
    [0.1, -0.2, 0.3, 1, 2, 3],
    [0, 0, 0, -0.5, 0.1, 0.2],
    [1.5, 0.5, -2, 0.3, -0.3, 4],
  ]) {
    const { r, t } = se3Exp(xi);
    const back = se3Log(r, t);
    assert.ok(
      back.every((v, k) => Math.abs(v - xi[k]!) < 1e-9),
      `${back} vs ${xi}`,
    );
    const q = quaternionOf(r);
    assert.ok(Math.abs(Math.hypot(...q) - 1) < 1e-12);
    const r2 = quaternionToRotation(q as [number, number, number, number]);
    assert.ok(r2.every((v, k) => Math.abs(v - r[k]!) < 1e-12));
  }
});
