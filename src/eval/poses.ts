// Pose refinement's evaluation (notes §5, BARF's protocol): known poses perturbed by noise in
// se(3), and held-out cameras moved into the frame of refined ones. The alignment and the pose
// error themselves are camera geometry (camera/align.ts).
import { similarityAlign } from '../camera/align.ts';
import { c2wOf, centreOf, mat3Mul, rotationOf, se3Exp, transpose3 } from '../camera/rotation.ts';
import { mat3Apply } from '../camera/vec3.ts';
import type { PosedView } from '../data/types.ts';
import { randomNormal } from '../gpu/random.ts';

/**
 * The cameras with BARF's synthetic pose noise: each world-to-camera pose composed with
 * exp(σ·ξ), ξ ~ N(0, I₆) in se(3), applied in world coordinates before it (noisy w2c = w2c · exp(σξ);
 * BARF uses σ = 0.15 for Blender scenes). Seeded, so runs compare like with like.
 */
export function perturbCameras(cameras: readonly PosedView[], sigma: number, seed: number): PosedView[] {
  const noise = randomNormal(cameras.length * 6, sigma, seed);
  return cameras.map((cam, i) => {
    const { r, t } = se3Exp(noise.subarray(i * 6, i * 6 + 6));
    // c2w' = exp(σξ)⁻¹ · c2w: rotation rᵀ·R, centre rᵀ·(c − t).
    const rt = transpose3(r);
    const rot = mat3Mul(rt, rotationOf(cam.c2w));
    const c = mat3Apply(
      rt,
      centreOf(cam.c2w).map((v, k) => v - t[k]!),
    );
    return { ...cam, c2w: c2wOf(rot, c) };
  });
}

/**
 * Cameras of the frame `given` lives in, moved into the frame of `refined` (the same cameras after
 * pose refinement): by the similarity that best takes the given centres onto the refined ones.
 * A field trained with refinement may have drifted as a whole (the photos fix the scene only up
 * to such a transform), so held-out views are rendered from their aligned cameras, the alignment
 * half of BARF's evaluation protocol (BARF then also optimises each test pose; we do not).
 */
export function alignToRefined(cameras: readonly PosedView[], given: readonly PosedView[], refined: readonly PosedView[]): PosedView[] {
  const { s, r, t } = similarityAlign(
    given.map((c) => centreOf(c.c2w)),
    refined.map((c) => centreOf(c.c2w)),
  );
  return cameras.map((cam) => {
    const rot = mat3Mul(r, rotationOf(cam.c2w));
    const c = mat3Apply(r, centreOf(cam.c2w)).map((v, k) => s * v + t[k]!);
    return { ...cam, c2w: c2wOf(rot, c) };
  });
}
