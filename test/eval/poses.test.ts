// The pose-refinement harness: se(3) exponentials, BARF's synthetic pose noise, the similarity
// alignment and the pose errors it reports, on cameras we know.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { poseError, similarityAlign } from '../../src/camera/align.ts';
import { se3Exp } from '../../src/camera/rotation.ts';
import type { V3 } from '../../src/camera/vec3.ts';
import { proceduralDataset } from '../../src/data/procedural.ts';
import type { PosedView } from '../../src/data/types.ts';
import { perturbCameras } from '../../src/eval/poses.ts';

const CAMS = proceduralDataset({ size: 8, train: 24, test: 1 }).splits.train!.cameras;
const near = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

test('se(3) exponential: Rodrigues for the rotation, V u for the translation, also near zero', () => {
  const { r, t } = se3Exp([0, 0, 0.3, 1, 2, 3]);
  const [c, s] = [Math.cos(0.3), Math.sin(0.3)];
  assert.ok(
    [c, -s, 0, s, c, 0, 0, 0, 1].every((v, k) => near(r[k]!, v)),
    `R ${r}`,
  );
  // About z, V maps (1, 2, 3) to (sin θ/θ, (1 − cos θ)/θ) mixes of x and y, and keeps z.
  assert.ok(near(t[2], 3));
  assert.ok(near(t[0], (s / 0.3) * 1 - ((1 - c) / 0.3) * 2) && near(t[1], ((1 - c) / 0.3) * 1 + (s / 0.3) * 2), `t ${t}`);
  // Continuous across the series switch at θ = 1e-4.
  const a = se3Exp([0.99e-4, 0.3e-4, 0, 0.5, 0.1, -0.2]);
  const b = se3Exp([1.01e-4, 0.3e-4, 0, 0.5, 0.1, -0.2]);
  assert.ok(a.r.every((v, k) => near(v, b.r[k]!, 1e-5)) && a.t.every((v, k) => near(v, b.t[k]!, 1e-5)));
});

/** Cameras moved by a similarity x ↦ s R x + t (rotations turned by R). */
function moved(cams: readonly PosedView[], s: number, r: number[], t: V3): PosedView[] {
  const ap = (v: number[]) => [0, 1, 2].map((i) => r[i * 3]! * v[0]! + r[i * 3 + 1]! * v[1]! + r[i * 3 + 2]! * v[2]!);
  return cams.map((cam) => {
    const c2w = new Float64Array(12);
    for (let col = 0; col < 3; col++) {
      const axis = ap([cam.c2w[col]!, cam.c2w[4 + col]!, cam.c2w[8 + col]!]);
      for (let row = 0; row < 3; row++) c2w[row * 4 + col] = axis[row]!;
    }
    const centre = ap([cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!]);
    for (let row = 0; row < 3; row++) c2w[row * 4 + 3] = s * centre[row]! + t[row]!;
    return { ...cam, c2w };
  });
}

test('the similarity alignment recovers a known similarity; poses differing only by one have no error', () => {
  const R = se3Exp([0.4, -1.1, 0.7, 0, 0, 0]).r;
  const shifted = moved(CAMS, 2.3, R, [5, -1, 0.5]);
  const centre = (c: PosedView) => [c.c2w[3]!, c.c2w[7]!, c.c2w[11]!] as V3;
  const { s, r, t } = similarityAlign(shifted.map(centre), CAMS.map(centre));
  assert.ok(near(s, 1 / 2.3, 1e-9), `scale ${s}`);
  // r should be Rᵀ.
  assert.ok(
    [0, 1, 2].every((i) => [0, 1, 2].every((j) => near(r[i * 3 + j]!, R[j * 3 + i]!, 1e-9))),
    `r ${r} is not Rᵀ`,
  );
  assert.ok(t.every(Number.isFinite));
  const e = poseError(shifted, CAMS);
  assert.ok(e.rotationDeg < 1e-6 && e.translation < 1e-9, JSON.stringify(e));
  // One camera turned 10° about its own centre: the mean rotation error is 10° / n, the centres agree.
  const turned = CAMS.map((c, i) => {
    if (i !== 3) return c;
    const q = se3Exp([0, (10 * Math.PI) / 180, 0, 0, 0, 0]).r;
    const c2w = Float64Array.from(c.c2w);
    for (let row = 0; row < 3; row++)
      for (let col = 0; col < 3; col++) c2w[row * 4 + col] = [0, 1, 2].reduce((acc, k) => acc + q[row * 3 + k]! * c.c2w[k * 4 + col]!, 0);
    return { ...c, c2w };
  });
  const one = poseError(turned, CAMS);
  assert.ok(near(one.rotationDeg, 10 / CAMS.length, 1e-5) && one.translation < 1e-9, JSON.stringify(one));
});

test("BARF's pose noise: none at σ = 0; at σ = 0.15 rotations stay rotations and err by about 14° on average", () => {
  const same = perturbCameras(CAMS, 0, 1);
  assert.ok(
    same.every((c, i) => c.c2w.every((v, k) => near(v, CAMS[i]!.c2w[k]!, 1e-12))),
    'σ = 0 changes nothing',
  );
  const noisy = perturbCameras(CAMS, 0.15, 1);
  for (const c of noisy) {
    for (let a = 0; a < 3; a++) assert.ok(near(Math.hypot(c.c2w[a]!, c.c2w[4 + a]!, c.c2w[8 + a]!), 1, 1e-12), 'unit axes');
  }
  const e = poseError(noisy, CAMS);
  // |σ ξ_ω| has mean 1.596 σ = 13.7°; the alignment absorbs a little of it.
  assert.ok(e.rotationDeg > 8 && e.rotationDeg < 16, `rotation error ${e.rotationDeg}°`);
  assert.ok(e.translation > 0.05, `translation error ${e.translation}`);
  // Seeded: the same noise again.
  assert.deepEqual(perturbCameras(CAMS, 0.15, 1), noisy);
});
