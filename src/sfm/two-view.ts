// The geometry of an image pair from its matches, as COLMAP's EstimateCalibratedTwoViewGeometry
// decides it: the essential matrix, the fundamental matrix and a homography are each estimated by
// LO-RANSAC on the same matches, and their inlier counts say what kind of pair it is. Many more
// fundamental than essential inliers: the focal length guess is wrong (uncalibrated). Nearly as
// many homography inliers as essential ones: a plane or a camera that only turned; the two are
// told apart by the homography itself (a rotation's has equal singular values) and the angle at
// which the essential matrix's pose sees the points. Only a calibrated or planar pair with a baseline can start a model.

import { Matrix, SVD } from 'ml-matrix';
import type { Mat3 } from '../camera/rotation.ts';
import { unit } from '../camera/vec3.ts';
import { fivePoint, type PointPair, poseFromEssential, refineRelativePose, sampsonError } from './essential.ts';
import { fundamental, homography, homographyError, homographyPoses } from './homography.ts';
import { IDENTITY_POSE, type Pose, poseCentre, toCamera } from './pose.ts';
import { loRansac } from './ransac.ts';
import { triangulatePair, triangulationAngle } from './triangulate.ts';

export type PairKind = 'calibrated' | 'planar' | 'panoramic' | 'uncalibrated' | 'degenerate';

export interface TwoViewGeometry {
  kind: PairKind;
  /** Indices of the matches consistent with the chosen model, increasing. */
  inliers: number[];
  /** The second camera's pose with the first at the identity, |t| = 1 (calibrated and planar pairs). */
  pose?: Pose;
  /** Median triangulation angle of the inliers in front of both cameras, degrees. */
  medianAngleDeg?: number;
  /** The fundamental matrix of the normalized points and its inlier count (the focal length's evidence, focal.ts). */
  fundamental?: { f: Mat3; inliers: number };
}

export interface TwoViewOptions {
  /** Inlier threshold in normalized image units (a pixel threshold over the focal length). */
  threshold: number;
  seed: number;
  /** Fewer inliers than this and the pair is degenerate (COLMAP's min_num_inliers). */
  minInliers?: number;
}

/** COLMAP's min_inlier_ratio, min_E_F_inlier_ratio and max_H_inlier_ratio. */
const MIN_INLIER_RATIO = 0.25;
const MIN_E_F_INLIER_RATIO = 0.95;
const MAX_H_INLIER_RATIO = 0.8;
/**
 * A homography pair only turned when its singular values differ by less than this fraction (a
 * baseline under 2% of the plane's distance), or when its points are seen at a median
 * triangulation angle under PANORAMIC_ANGLE_DEG.
 */
const PANORAMIC_SPREAD = 0.02;
const PANORAMIC_ANGLE_DEG = 0.5;

export function twoViewGeometry(pairs: readonly PointPair[], opts: TwoViewOptions): TwoViewGeometry {
  const minInliers = opts.minInliers ?? 15;
  const th2 = opts.threshold * opts.threshold;
  const pick = (idx: readonly number[]) => idx.map((i) => pairs[i]!);
  const ransac = { threshold2: th2, seed: opts.seed, maxIterations: 2000 };
  const E = loRansac(
    pairs.length,
    5,
    (s) => fivePoint(pick(s)),
    (m, i) => sampsonError(m, pairs[i]!),
    { ...ransac, localSampleSize: 10 },
  );
  const F = loRansac(
    pairs.length,
    8,
    (s) => [fundamental(pick(s))].filter((m) => m !== null),
    (m, i) => sampsonError(m, pairs[i]!),
    {
      ...ransac,
      seed: opts.seed + 1,
      localSampleSize: 16,
    },
  );
  const H = loRansac(
    pairs.length,
    4,
    (s) => [homography(pick(s))].filter((m) => m !== null),
    (m, i) => homographyError(m, pairs[i]!),
    {
      ...ransac,
      seed: opts.seed + 2,
      localSampleSize: 8,
    },
  );
  const nE = E?.inliers.length ?? 0;
  const nF = F?.inliers.length ?? 0;
  const nH = H?.inliers.length ?? 0;
  if (Math.max(nE, nF, nH) < Math.max(minInliers, MIN_INLIER_RATIO * pairs.length)) return { kind: 'degenerate', inliers: [] };
  const withF = <T extends TwoViewGeometry>(g: T): T => (F ? { ...g, fundamental: { f: F.model, inliers: nF } } : g);
  if (!E || nE < MIN_E_F_INLIER_RATIO * nF) return withF({ kind: 'uncalibrated', inliers: F!.inliers });

  if (nH > MAX_H_INLIER_RATIO * nE) {
    // A camera that only turned maps its normalized points by a rotation: H's singular values
    // are equal. A plane seen from a baseline b at distance d spreads them by about b / d.
    const sv = new SVD(new Matrix([H!.model.slice(0, 3), H!.model.slice(3, 6), H!.model.slice(6, 9)]), {
      computeLeftSingularVectors: false,
      computeRightSingularVectors: false,
    }).diagonal;
    if (sv[0]! / sv[2]! < 1 + PANORAMIC_SPREAD) return withF({ kind: 'panoramic', inliers: H!.inliers });
    // A plane: the pose from the homography's decomposition (the essential matrix of coplanar
    // points is ambiguous), the one that puts the most points in front of both cameras.
    const inlierPairs = pick(H!.inliers);
    let best: { pose: Pose; angles: number[] } | null = null;
    for (const c of homographyPoses(H!.model, inlierPairs)) {
      const pose = { r: c.r, t: unit(c.t) };
      const angles = anglesInFront(pose, inlierPairs);
      if (!best || angles.length > best.angles.length) best = { pose, angles };
    }
    if (!best) return { kind: 'degenerate', inliers: [] };
    // Refined like a general pair's: from the decomposition's pose, the nearest Sampson optimum.
    best.pose = refineRelativePose(best.pose, inlierPairs, opts.threshold);
    best.angles = anglesInFront(best.pose, inlierPairs);
    const medianAngleDeg = median(best.angles);
    if (medianAngleDeg < PANORAMIC_ANGLE_DEG) return withF({ kind: 'panoramic', inliers: H!.inliers, medianAngleDeg });
    return withF({ kind: 'planar', inliers: H!.inliers, pose: best.pose, medianAngleDeg });
  }
  const inlierPairs = pick(E.inliers);
  const pose = refineRelativePose(poseFromEssential(E.model, inlierPairs).pose, inlierPairs, opts.threshold);
  return withF({ kind: 'calibrated', inliers: E.inliers, pose, medianAngleDeg: median(anglesInFront(pose, inlierPairs)) });
}

/** The triangulation angles (degrees) of the pairs a relative pose puts in front of both cameras. */
function anglesInFront(pose: Pose, pairs: readonly PointPair[]): number[] {
  const centres = [poseCentre(IDENTITY_POSE), poseCentre(pose)];
  const angles: number[] = [];
  for (const p of pairs) {
    const X = triangulatePair(p.x1, p.x2, pose);
    if (!X || X[2] <= 0) continue;
    const z2 = toCamera(pose, X)[2];
    if (z2 <= 0) continue;
    angles.push((triangulationAngle(centres, X) * 180) / Math.PI);
  }
  return angles;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}
