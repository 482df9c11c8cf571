// Incremental reconstruction, COLMAP's design in small: tracks from the verified matches (union–
// find over keypoints), an initial pair chosen by inliers and triangulation angle in the largest
// connected group of photos, then one image at a time: the image that sees the most triangulated
// points is registered by P3P in LO-RANSAC and its pose refined, new points are triangulated from
// every registered view with angle and reprojection checks, a local bundle adjustment follows
// each registration and a global one whenever the model has grown by a tenth, with outlying
// observations filtered and failed tracks triangulated again. Everything runs in index order with
// seeded RANSAC: the same input gives the same model bit for bit.
import { unproject } from '../camera/lens.ts';
import { axisAngleToRotation, mat3Mul } from '../camera/rotation.ts';
import type { V3 } from '../camera/vec3.ts';
import { yieldToCancel } from '../job/job.ts';
import { type BundleObservation, type BundleProblem, bundleAdjust, projectRadial, type RadialCamera, radialLens } from './bundle.ts';
import { levenbergMarquardt } from './least-squares.ts';
import { p3p, reprojectionError2 } from './p3p.ts';
import { IDENTITY_POSE, type Pose, poseCentre, toCamera } from './pose.ts';
import { loRansac } from './ransac.ts';
import { triangulate, triangulationAngle } from './triangulate.ts';
import type { TwoViewGeometry } from './two-view.ts';

export interface MapperImage {
  /** Index into the cameras (shared intrinsics). */
  camera: number;
  /** Per keypoint x, y (continuous pixels at the working size), scale, orientation. */
  keypoints: Float32Array;
}

/** An image pair's matches (keypoint indices a, b interleaved) and their verified geometry (inliers index the matches). */
export interface MatchedPair {
  a: number;
  b: number;
  matches: Uint32Array;
  geometry: TwoViewGeometry;
}

export interface MapperOptions {
  seed?: number;
  /** Largest reprojection error of a kept observation, pixels (COLMAP's filter_max_reproj_error). */
  maxReprojectionPx?: number;
  /** Smallest triangulation angle of a kept point, degrees (COLMAP's tri_min_angle). */
  minTriangulationDeg?: number;
  /** RANSAC threshold of registration, pixels (COLMAP's abs_pose_max_error). */
  registrationErrorPx?: number;
  /** Fewest inliers an image is registered with (COLMAP's abs_pose_min_num_inliers, scaled for small photo sets). */
  minRegistrationInliers?: number;
  /** Global adjustments refine each camera's focal length and k1 (default); false keeps them as given. */
  refineIntrinsics?: boolean;
  /** Fewest verified matches for a pair to connect two images. */
  minPairInliers?: number;
  onProgress?: (event: MapperProgress) => void;
  /** Checked between registrations and adjustments (the page gets a turn there too): aborting it stops the reconstruction with its reason. */
  signal?: AbortSignal;
}

export type MapperProgress =
  | { stage: 'register'; registered: number; total: number; image: number }
  | { stage: 'bundle'; registered: number; total: number; reprojectionErrorPx: number; global: boolean; model: () => MapperSnapshot };

/** The model as it stands during mapping (a copy, taken only when asked for: a live view draws it). */
export interface MapperSnapshot {
  poses: (Pose | null)[];
  xyz: Float64Array;
}

export interface MapperPoint {
  xyz: V3;
  /** Observations: image and keypoint. */
  observations: { image: number; keypoint: number }[];
}

export interface Reconstruction {
  cameras: RadialCamera[];
  /** Per image its pose (world to camera), null where it could not be registered. */
  poses: (Pose | null)[];
  points: MapperPoint[];
  /** Why each unregistered image is not in the model. */
  unregistered: { image: number; reason: string }[];
  /** Root mean square reprojection error of the final model, pixels. */
  reprojectionErrorPx: number;
}

/** COLMAP's init_min_tri_angle is 16°; photo sets taken 20-30° apart see most points at less. */
const INIT_MIN_ANGLE_DEG = 3;
const LOCAL_BUNDLE_IMAGES = 6;
const GLOBAL_GROWTH = 1.1;
/** The final refinement's rounds of adjustment and filtering, and what it keeps: observations within this many median reprojection errors. */
const REFINE_ROUNDS = 3;
const REFINE_KEEP = 3;

export async function reconstruct(
  images: readonly MapperImage[],
  camerasIn: readonly RadialCamera[],
  pairs: readonly MatchedPair[],
  opts: MapperOptions = {},
): Promise<Reconstruction> {
  const seed = opts.seed ?? 1;
  const maxReproj = opts.maxReprojectionPx ?? 4;
  const minTri = ((opts.minTriangulationDeg ?? 1.5) * Math.PI) / 180;
  const regError = opts.registrationErrorPx ?? 12;
  const minRegInliers = opts.minRegistrationInliers ?? 15;
  const minPair = opts.minPairInliers ?? 15;
  const cameras = camerasIn.map((c) => ({ ...c }));
  const n = images.length;

  // ---- Tracks: keypoints joined by verified matches (union–find), one observation per image.
  const base = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) base[i + 1] = base[i]! + images[i]!.keypoints.length / 4;
  const parent = Int32Array.from({ length: base[n]! }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const connected = pairs.filter((p) => p.geometry.inliers.length >= minPair && p.geometry.kind !== 'degenerate');
  for (const p of connected) {
    for (const k of p.geometry.inliers) {
      const ra = find(base[p.a]! + p.matches[2 * k]!);
      const rb = find(base[p.b]! + p.matches[2 * k + 1]!);
      // The smaller root wins, so the union does not depend on the pairs' order.
      if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
    }
  }
  const imageOf = (node: number) => {
    let lo = 0;
    let hi = n;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (base[mid]! <= node) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  const trackOfRoot = new Map<number, number>();
  const tracks: { image: number; keypoint: number }[][] = [];
  const kpTrack = images.map((im) => new Int32Array(im.keypoints.length / 4).fill(-1));
  for (let node = 0; node < base[n]!; node++) {
    // Tracks are numbered in the order of their smallest keypoint.
    const root = find(node);
    let t = trackOfRoot.get(root);
    if (t === undefined) {
      t = tracks.length;
      trackOfRoot.set(root, t);
      tracks.push([]);
    }
    const image = imageOf(node);
    // One observation per image: a track meeting an image twice keeps its first keypoint there.
    if (tracks[t]!.some((o) => o.image === image)) continue;
    tracks[t]!.push({ image, keypoint: node - base[image]! });
    kpTrack[image]![node - base[image]!] = t;
  }

  // ---- The match graph's groups: the reconstruction starts in the largest.
  const adj: Set<number>[] = Array.from({ length: n }, () => new Set());
  for (const p of connected) {
    adj[p.a]!.add(p.b);
    adj[p.b]!.add(p.a);
  }
  const group = new Int32Array(n).fill(-1);
  const groups: number[][] = [];
  for (let i = 0; i < n; i++) {
    if (group[i]! >= 0) continue;
    const members: number[] = [];
    const stack = [i];
    group[i] = groups.length;
    while (stack.length) {
      const v = stack.pop()!;
      members.push(v);
      for (const w of adj[v]!) {
        if (group[w]! < 0) {
          group[w] = groups.length;
          stack.push(w);
        }
      }
    }
    groups.push(members.sort((a, b) => a - b));
  }
  const largest = groups.reduce((a, b) => (b.length > a.length ? b : a));
  const main = group[largest[0]!]!;

  // ---- State.
  const poses: (Pose | null)[] = new Array(n).fill(null);
  const trackPoint = new Int32Array(tracks.length).fill(-1);
  const points: ((MapperPoint & { track: number }) | null)[] = [];
  const failures = new Int32Array(n);
  const lastFailure: string[] = new Array(n).fill('');
  const snapshot = (): MapperSnapshot => {
    const live = points.filter((p) => p !== null);
    const xyz = new Float64Array(live.length * 3);
    for (const [i, p] of live.entries()) xyz.set(p.xyz, i * 3);
    return { poses: poses.map((p) => (p ? { r: [...p.r] as Pose['r'], t: [...p.t] as V3 } : null)), xyz };
  };

  const kp = (image: number, k: number): [number, number] => [images[image]!.keypoints[k * 4]!, images[image]!.keypoints[k * 4 + 1]!];
  // A keypoint's position is as uncertain as its scale is large (measured on the procedural walk:
  // the median error at truth grows from 0.05 px at σ = 1 to 0.2 px at σ = 8), so bundle
  // adjustment counts each residual in units of its keypoint's scale, at least a pixel.
  const sigmaOf = (image: number, k: number): number => Math.max(1, images[image]!.keypoints[k * 4 + 2]!);
  const normalized = (image: number, k: number): [number, number] => unproject(radialLens(cameras[images[image]!.camera]!), ...kp(image, k));
  const reprojPx = (image: number, X: V3, k: number): number => {
    const pr = projectRadial(cameras[images[image]!.camera]!, toCamera(poses[image]!, X));
    if (!pr) return Infinity;
    const [u, v] = kp(image, k);
    return Math.hypot(pr.uv[0] - u, pr.uv[1] - v);
  };

  /** Triangulates a track from its registered observations; the point's index, or −1. */
  const triangulateTrack = (t: number): number => {
    let obs = tracks[t]!.filter((o) => poses[o.image]);
    for (let attempt = 0; attempt < 2 && obs.length >= 2; attempt++) {
      const X = triangulate(obs.map((o) => ({ pose: poses[o.image]!, x: normalized(o.image, o.keypoint) })));
      if (!X) return -1;
      const good = obs.filter((o) => reprojPx(o.image, X, o.keypoint) <= maxReproj);
      if (good.length === obs.length) {
        if (
          triangulationAngle(
            good.map((o) => poseCentre(poses[o.image]!)),
            X,
          ) < minTri
        )
          return -1;
        points.push({ xyz: X, observations: good.map((o) => ({ ...o })), track: t });
        trackPoint[t] = points.length - 1;
        return points.length - 1;
      }
      obs = good;
    }
    return -1;
  };

  /** Tracks that failed before may triangulate with the adjusted poses. */
  const retriangulate = (): void => {
    for (let t = 0; t < tracks.length; t++) if (trackPoint[t]! < 0) triangulateTrack(t);
  };

  /** Drops observations beyond `limitPx` (per image; default maxReproj) and points left with fewer than two or too small an angle. */
  const filterPoints = (limitPx: (image: number) => number = () => maxReproj): void => {
    points.forEach((p, i) => {
      if (!p) return;
      p.observations = p.observations.filter((o) => reprojPx(o.image, p.xyz, o.keypoint) <= limitPx(o.image));
      if (
        p.observations.length < 2 ||
        triangulationAngle(
          p.observations.map((o) => poseCentre(poses[o.image]!)),
          p.xyz,
        ) < minTri
      ) {
        trackPoint[p.track] = -1;
        points[i] = null;
      }
    });
  };

  /** Bundle adjustment over the registered images in `local` (all when null); the others fixed. */
  const adjust = (local: Set<number> | null, gauge: [number, number], tight?: { huberPx: number; iterations: number }): number => {
    const registered = poses.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
    const index = new Map(registered.map((img, k) => [img, k]));
    const problem: BundleProblem = {
      cameras,
      images: registered.map((img) => ({ camera: images[img]!.camera, pose: poses[img]! })),
      points: [],
      observations: [],
    };
    const pointIds: number[] = [];
    const obs: BundleObservation[] = [];
    points.forEach((p, i) => {
      if (!p) return;
      if (local && !p.observations.some((o) => local.has(o.image))) return;
      const at = pointIds.length;
      pointIds.push(i);
      problem.points.push(p.xyz);
      for (const o of p.observations)
        obs.push({ image: index.get(o.image)!, point: at, uv: kp(o.image, o.keypoint), sigma: tight ? 1 : sigmaOf(o.image, o.keypoint) });
    });
    problem.observations = obs;
    const fixed = new Set<number>();
    registered.forEach((img, k) => {
      if (img === gauge[0] || (local && !local.has(img))) fixed.add(k);
    });
    const report = bundleAdjust(problem, {
      fixedImages: fixed,
      scaleImage: local && !local.has(gauge[1]) ? undefined : index.get(gauge[1]),
      refineFocal: !local && opts.refineIntrinsics !== false,
      refineDistortion: !local && opts.refineIntrinsics !== false,
      huber: tight?.huberPx ?? 1,
      iterations: tight?.iterations ?? (local ? 10 : 25),
    });
    registered.forEach((img, k) => {
      poses[img] = problem.images[k]!.pose;
    });
    pointIds.forEach((id, k) => {
      points[id]!.xyz = problem.points[k]!;
    });
    return report.finalRmse;
  };

  // ---- The initial pair: most inliers among pairs of the largest group with a baseline.
  const candidates = connected
    .filter((p) => group[p.a] === main && p.geometry.pose && (p.geometry.kind === 'calibrated' || p.geometry.kind === 'planar'))
    .sort((x, y) => {
      // A wide general pair first: a plane's pose is the less certain (two poses explain it).
      const rank = (p: MatchedPair) => (p.geometry.medianAngleDeg! >= INIT_MIN_ANGLE_DEG ? 2 : 0) + (p.geometry.kind === 'calibrated' ? 1 : 0);
      return rank(y) - rank(x) || y.geometry.inliers.length - x.geometry.inliers.length || x.a - y.a || x.b - y.b;
    });
  let gauge: [number, number] | null = null;
  for (const c of candidates) {
    poses[c.a] = IDENTITY_POSE;
    poses[c.b] = c.geometry.pose!;
    for (let t = 0; t < tracks.length; t++) {
      const tr = tracks[t]!;
      if (tr.some((o) => o.image === c.a) && tr.some((o) => o.image === c.b)) triangulateTrack(t);
    }
    const made = points.filter((p) => p).length;
    if (made >= minRegInliers) {
      gauge = [c.a, c.b];
      break;
    }
    poses[c.a] = null;
    poses[c.b] = null;
    points.length = 0;
    trackPoint.fill(-1);
  }
  if (!gauge) {
    return {
      cameras,
      poses,
      points: [],
      unregistered: images.map((_, image) => ({
        image,
        reason:
          adj[image]!.size === 0
            ? 'too few matches: no other photo shares enough verified matches with it'
            : candidates.length === 0
              ? 'no pair of photos to start from: every matched pair only turned (the camera must move between photos; walk around the object) or is degenerate'
              : 'no pair of photos triangulates enough points to start from',
      })),
      reprojectionErrorPx: 0,
    };
  }
  adjust(null, gauge);
  filterPoints();
  let registeredCount = 2;
  let lastGlobal = 2;
  opts.onProgress?.({ stage: 'register', registered: 2, total: n, image: gauge[1] });

  // ---- Registration, one image at a time.
  const registerAll = async (): Promise<void> => {
    for (;;) {
      await yieldToCancel(opts.signal);
      // The unregistered image of the main group seeing the most triangulated points.
      let next = -1;
      let bestCount = 0;
      for (let i = 0; i < n; i++) {
        if (poses[i] || group[i] !== main || failures[i]! >= 2) continue;
        let count = 0;
        for (let k = 0; k < kpTrack[i]!.length; k++) {
          const t = kpTrack[i]![k]!;
          if (t >= 0 && trackPoint[t]! >= 0) count++;
        }
        if (count > bestCount) {
          bestCount = count;
          next = i;
        }
      }
      if (next < 0 || bestCount < minRegInliers) break;
      const pose = registerImage(next);
      if (!pose) {
        failures[next]!++;
        continue;
      }
      poses[next] = pose;
      registeredCount++;
      // A bigger model may place an image that failed before.
      failures.fill(0);
      opts.onProgress?.({ stage: 'register', registered: registeredCount, total: n, image: next });
      // Observations of existing points, and new points.
      for (let k = 0; k < kpTrack[next]!.length; k++) {
        const t = kpTrack[next]![k]!;
        if (t < 0) continue;
        const pid = trackPoint[t]!;
        if (pid >= 0) {
          const p = points[pid]!;
          if (!p.observations.some((o) => o.image === next) && reprojPx(next, p.xyz, k) <= maxReproj) p.observations.push({ image: next, keypoint: k });
        } else triangulateTrack(t);
      }
      await yieldToCancel(opts.signal);
      const global = registeredCount >= GLOBAL_GROWTH * lastGlobal;
      let rmse: number;
      if (global) {
        rmse = adjust(null, gauge);
        lastGlobal = registeredCount;
        filterPoints();
        retriangulate();
      } else {
        rmse = adjust(localImages(next), gauge);
        filterPoints();
      }
      opts.onProgress?.({ stage: 'bundle', registered: registeredCount, total: n, reprojectionErrorPx: rmse, global, model: snapshot });
    }
  };
  await registerAll();
  // ---- The final adjustment, with every camera's intrinsics.
  const adjustAll = (): void => {
    const rmse = adjust(null, gauge);
    filterPoints();
    opts.onProgress?.({ stage: 'bundle', registered: registeredCount, total: n, reprojectionErrorPx: rmse, global: true, model: snapshot });
  };
  adjustAll();

  /**
   * The final refinement. Some observations are off by more than their noise in a way that agrees
   * from view to view (a blob straddling an object's outline moves with the view; at the true
   * poses of the procedural walk the median keypoint is 0.07 px off but a tenth are 0.5-1.5 px
   * off), and least squares follows them away from the truth. So, a few rounds: a global
   * adjustment under Huber's loss at the median reprojection error (in pixels, unweighted), then
   * every observation beyond REFINE_KEEP times that median is dropped, each image keeping at least
   * its minRegInliers best; a last adjustment on what remains. COLMAP refines its final model by
   * rounds of adjustment and filtering too, at a fixed 4 px.
   */
  async function refine(): Promise<void> {
    for (let round = 0; round <= REFINE_ROUNDS; round++) {
      await yieldToCancel(opts.signal);
      const all: number[] = [];
      const byImage: number[][] = Array.from({ length: n }, () => []);
      for (const p of points)
        for (const o of p?.observations ?? []) {
          const e = reprojPx(o.image, p!.xyz, o.keypoint);
          all.push(e);
          byImage[o.image]!.push(e);
        }
      if (all.length === 0) return;
      const median = all.sort((a, b) => a - b)[all.length >> 1]!;
      adjust(null, gauge!, { huberPx: Math.max(median, 1e-3), iterations: 60 });
      if (round === REFINE_ROUNDS) break;
      const floor = byImage.map((e) => e.sort((a, b) => a - b)[Math.min(e.length, minRegInliers) - 1] ?? Infinity);
      filterPoints((image) => Math.min(maxReproj, Math.max(REFINE_KEEP * median, floor[image]!)));
    }
    opts.onProgress?.({ stage: 'bundle', registered: registeredCount, total: n, reprojectionErrorPx: rmseOfModel(), global: true, model: snapshot });
  }
  // A second pass, as COLMAP's mapper makes: with the model adjusted and the tracks that failed
  // triangulated again, a photo that could not be placed may be now (then everything is adjusted again).
  retriangulate();
  const placedBefore = registeredCount;
  failures.fill(0);
  await registerAll();
  if (registeredCount > placedBefore) adjustAll();
  await refine();

  const kept = points.filter((p) => p !== null).map(({ xyz, observations }) => ({ xyz, observations }));
  const unregistered = images.flatMap((_, image) => {
    if (poses[image]) return [];
    let reason: string;
    if (adj[image]!.size === 0) reason = `too few matches: no other photo shares ${minPair} verified matches with it`;
    else if (group[image] !== main)
      reason = `not connected to the model: it matches only a separate group of ${groups[group[image]!]!.length} photo(s) that shares nothing with the other ${largest.length}`;
    else reason = lastFailure[image] || `it sees too few of the model's points (fewer than ${minRegInliers}) to be placed`;
    return [{ image, reason }];
  });
  return { cameras, poses, points: kept, unregistered, reprojectionErrorPx: rmseOfModel() };

  /** Root mean square reprojection error of the model's observations, pixels. */
  function rmseOfModel(): number {
    let s = 0;
    let cnt = 0;
    for (const p of points)
      for (const o of p?.observations ?? []) {
        s += reprojPx(o.image, p!.xyz, o.keypoint) ** 2;
        cnt++;
      }
    return cnt ? Math.sqrt(s / cnt) : 0;
  }

  /** The image and the registered images sharing the most points with it. */
  function localImages(image: number): Set<number> {
    const shared = new Map<number, number>();
    for (const p of points) {
      if (!p?.observations.some((o) => o.image === image)) continue;
      for (const o of p.observations) if (o.image !== image) shared.set(o.image, (shared.get(o.image) ?? 0) + 1);
    }
    const best = [...shared].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, LOCAL_BUNDLE_IMAGES - 1);
    return new Set([image, ...best.map(([i]) => i)]);
  }

  /** An image's pose from its 2D–3D correspondences: P3P in RANSAC, refined on the inliers; null when too few agree. */
  function registerImage(image: number): Pose | null {
    const corr: { x: [number, number]; X: V3; k: number }[] = [];
    for (let k = 0; k < kpTrack[image]!.length; k++) {
      const t = kpTrack[image]![k]!;
      if (t < 0 || trackPoint[t]! < 0) continue;
      corr.push({ x: normalized(image, k), X: points[trackPoint[t]!]!.xyz, k });
    }
    const cam = cameras[images[image]!.camera]!;
    const th = regError / cam.f;
    const result = loRansac(
      corr.length,
      3,
      (s) =>
        p3p(
          s.map((i) => corr[i]!.x),
          s.map((i) => corr[i]!.X),
        ),
      (m, i) => reprojectionError2(m, corr[i]!.X, corr[i]!.x),
      { threshold2: th * th, seed: seed * 7919 + image * 31 + failures[image]!, maxIterations: 2000 },
    );
    if (!result || result.inliers.length < minRegInliers) {
      lastFailure[image] =
        `could not be placed: only ${result?.inliers.length ?? 0} of the ${corr.length} model points it sees agree on one pose (${minRegInliers} needed)`;
      return null;
    }
    const inl = result.inliers.map((i) => corr[i]!);
    const p0 = result.model;
    const at = (q: readonly number[]): Pose => ({
      r: mat3Mul(axisAngleToRotation([q[0]!, q[1]!, q[2]!]), p0.r),
      t: [p0.t[0] + q[3]!, p0.t[1] + q[4]!, p0.t[2] + q[5]!],
    });
    const q = levenbergMarquardt(
      [0, 0, 0, 0, 0, 0],
      (params) => {
        const pose = at(params);
        return inl.flatMap((c) => {
          const Xc = toCamera(pose, c.X);
          const z = Math.max(Xc[2], 1e-9);
          return [(Xc[0] / z - c.x[0]) * cam.f, (Xc[1] / z - c.x[1]) * cam.f];
        });
      },
      { huber: 1, groupSize: 2, iterations: 10 },
    );
    return at(q);
  }
}
