// Where a training run's field lives: the dataset's box for a bounded scene; for an unbounded one
// either the contracted space around it (field/geometry.ts contractPoint) or, for a forward-facing
// capture, the normalised device coordinates of its mean camera (geometry.ts NdcFrame), so the
// background is modelled instead of painted in one colour.

import { dot, sub } from '../camera/vec3.ts';
import type { Dataset, PosedView } from '../data/types.ts';
import { facesForward, meanCamera } from '../data/views.ts';
import { type Box, boxCentre, contractedBox, NDC_BOX, type NdcFrame, type Vec3 } from '../field/geometry.ts';
import type { FieldSettings } from '../field/settings.ts';
import type { TrainOptions } from './config.ts';

/** The space a field covers: the box only, all of space contracted around it, or a camera's NDC. */
export type SceneSpace = 'box' | 'contract' | 'ndc';

/**
 * How far from the mean view direction every camera of a capture must look for it to train in NDC:
 * LLFF's hand-held captures look nearly one way; a phone's half orbit (instant-ngp's fox: up to 52°) sees
 * well outside one camera's frustum and is contracted instead.
 */
export const NDC_MAX_ANGLE_DEG = 30;

/**
 * The space a run trains in: the option when given, else from the dataset's scene kind: the box
 * for a bounded scene, NDC for an unbounded forward-facing capture (as TensoRF trains LLFF), the
 * contraction for any other unbounded one.
 */
export function sceneSpace(ds: Pick<Dataset, 'unbounded' | 'splits'>, opt: Pick<TrainOptions, 'contract'>): SceneSpace {
  if (opt.contract === 'ndc') return 'ndc';
  if (opt.contract !== undefined) return opt.contract ? 'contract' : 'box';
  if (ds.unbounded !== true) return 'box';
  return facesForward(ds.splits.train?.cameras ?? [], NDC_MAX_ANGLE_DEG) ? 'ndc' : 'contract';
}

/** The settings (with the contraction's inner box or the NDC frame) and the box of a new field. */
export function trainingFrame(ds: Dataset, settings: FieldSettings, opt: Pick<TrainOptions, 'contract'>): { settings: FieldSettings; box: Box } {
  const inner: Box = { lo: ds.aabb[0], hi: ds.aabb[1] };
  const space = sceneSpace(ds, opt);
  if (space === 'box') return { settings, box: inner };
  if (space === 'contract') return { settings: { ...settings, contraction: inner }, box: contractedBox(inner) };
  const cams = ds.splits.train?.cameras ?? [];
  if (cams.length === 0) throw new Error(`${ds.name}: NDC needs training cameras`);
  return { settings: { ...settings, ndc: ndcFrame(cams, inner, ds.nearestDepth) }, box: NDC_BOX };
}

/**
 * The NDC frame of a forward-facing capture: the mean camera (centre, and axes from the mean view
 * and right directions, as TensoRF's LLFF recentring does), the median camera's focal lengths, and a
 * near plane at 3/4 of the nearest depth the capture sees (the reference's near = 1 with the
 * nearest bound scaled to 4/3). Without depth bounds (COLMAP, the procedural scene) the nearest
 * depth is that of the inner box's nearest corner, or a tenth of its centre's when the cameras sit
 * inside the box.
 */
export function ndcFrame(cameras: readonly PosedView[], inner: Box, nearestDepth?: number): NdcFrame {
  const { centre, right, down, forward } = meanCamera(cameras);
  const byWidth = [...cameras].sort((a, b) => a.fx / a.width - b.fx / b.width);
  const median = byWidth[Math.floor(byWidth.length / 2)]!;
  let depth = nearestDepth;
  if (depth === undefined || !(depth > 0)) {
    const corners = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [0, 1, 2].map((a) => ((i >> a) & 1 ? inner.hi[a]! : inner.lo[a]!)) as Vec3);
    const depthOf = (p: Vec3) => dot(forward, sub(p, centre));
    const nearest = Math.min(...corners.map(depthOf));
    depth = nearest > 0 ? nearest : 0.1 * Math.max(depthOf(boxCentre(inner)), 1e-3);
  }
  return { centre, right, down, forward, ax: (2 * median.fx) / median.width, ay: (2 * median.fy) / median.height, near: 0.75 * depth };
}
