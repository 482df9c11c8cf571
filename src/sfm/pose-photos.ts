// Photos in, poses out: the structure-from-motion stage from decoded photos to a reconstruction.
// Duplicates are dropped, photos are grouped into shared intrinsics, features are found in each
// on the GPU (sift.ts), every pair is matched on the GPU (match.ts; ordered frames or large sets by a
// sequential window), each pair's geometry verified (two-view.ts), and the incremental mapper
// (mapper.ts) places what it can. Progress is reported by stage, and a cancel is honoured between
// steps. The focal length starts from the photo's EXIF where there is one, otherwise from the
// field of view that fits best (a search, or the caller's), and bundle adjustment refines it.
import { unproject } from '../camera/lens.ts';
import type { PosedView } from '../camera/types.ts';
import type { GpuContext } from '../gpu/context.ts';
import { type JobControl, yieldToCancel } from '../job/job.ts';
import { type RadialCamera, radialLens } from './bundle.ts';
import { decodeFeatures, decodeMatches, encodeFeatures, encodeMatches, featuresKey, matchesKey, type PosingCache, photoDigest } from './cache.ts';
import { type MatchedPair, type Reconstruction, reconstruct } from './mapper.ts';
import { DescriptorStore } from './match.ts';
import { poseToC2w } from './pose.ts';
import { type Features, greyOf } from './sift.ref.ts';
import { siftGpu } from './sift.ts';
import { twoViewGeometry } from './two-view.ts';

export interface Photo {
  /** The user's file name (messages and the written capture). */
  name: string;
  width: number;
  height: number;
  rgba: Uint8Array;
  /** Focal length in pixels at this size, from EXIF, when the photo says. */
  focalPx?: number;
  /** What groups photos into one camera besides their size (EXIF make, model and focal length). */
  cameraKey?: string;
}

export type PosingEvent =
  | { stage: 'features'; done: number; total: number }
  | { stage: 'focal'; fieldOfViewDeg: number; tried: number; total: number }
  | { stage: 'matching'; done: number; total: number }
  | { stage: 'register'; registered: number; total: number; image: string }
  | { stage: 'bundle'; registered: number; total: number; reprojectionErrorPx: number; snapshot?: () => PosingSnapshot };

/** The model as it stands while posing (a live view draws it): the cameras placed so far, in the mapper's world, and the points. */
export interface PosingSnapshot {
  cameras: (PosedView & { name: string })[];
  xyz: Float64Array;
}

/** Events go to `onEvent`; aborting `signal` stops posing within a second, rejecting with its reason (job/job.ts). */
export interface PosingOptions extends JobControl<PosingEvent> {
  seed?: number;
  /** Features kept per photo. */
  maxFeatures?: number;
  /**
   * 'exhaustive' matches every pair; 'sequential' each photo with the next `window` (ordered
   * frames; the last ones with the first, as an orbit closes), and every `window`-th photo with
   * every other such one (loop candidates: a walk that comes back to where it was). Default: exhaustive up to `maxExhaustive` photos.
   */
  matching?: 'exhaustive' | 'sequential';
  maxExhaustive?: number;
  window?: number;
  /** The field of view (degrees, across the long edge) of photos without an EXIF focal length, instead of searching for it. */
  fieldOfViewDeg?: number;
  /** Bundle adjustment refines the focal lengths and k1 (default); false keeps them as given (EXIF, or the field of view). */
  refineIntrinsics?: boolean;
  /** Where features and matches are kept by content and read back on a later run. */
  cache?: PosingCache;
}

export interface PosingResult {
  /** Intrinsics shared by photos, SIMPLE_RADIAL at the photos' size. */
  cameras: RadialCamera[];
  /** Per photo its camera, pose (world to camera, null where unregistered). */
  photos: { name: string; camera: number; pose: Reconstruction['poses'][number] }[];
  /** The sparse points with the colour of their first observation, and the photos (index, x, y at the working size) that see each. */
  points: { xyz: Float64Array; rgb: Uint8Array; observations: { photo: number; x: number; y: number }[][] };
  unregistered: { file: string; reason: string }[];
  reprojectionErrorPx: number;
  secondsByStage: Record<string, number>;
  /** What was done that the user should know (matching chosen, duplicates). */
  notes: string[];
}

export const MIN_PHOTOS = 3;
/** Fields of view (across the long edge, degrees) tried when the photos give no focal length. */
const FOV_GRID = [35, 45, 55, 65, 75];
/** Matches a pair needs before its geometry is estimated (COLMAP's min_num_inliers). */
const MIN_MATCHES = 15;

/** The focal length (pixels) of a field of view (degrees) across the long edge. */
const focalOfFieldOfView = (width: number, height: number, fovDeg: number): number => (0.5 * Math.max(width, height)) / Math.tan((fovDeg * Math.PI) / 360);

export async function posePhotos(ctx: GpuContext, photos: readonly Photo[], opts: PosingOptions = {}): Promise<PosingResult> {
  const seconds: Record<string, number> = {};
  const check = () => yieldToCancel(opts.signal);
  const timed = async <T>(stage: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const out = await f();
    seconds[stage] = (seconds[stage] ?? 0) + (performance.now() - t0) / 1000;
    return out;
  };
  const notes: string[] = [];
  const unregistered: { file: string; reason: string }[] = [];

  // Identical photos say nothing twice: the later copies are dropped and named.
  const seen = new Map<string, string>();
  const kept: Photo[] = [];
  const digests: string[] = [];
  for (const p of photos) {
    const key = await photoDigest(p.width, p.height, p.rgba);
    const first = seen.get(key);
    if (first !== undefined) {
      unregistered.push({ file: p.name, reason: `a duplicate of ${first}` });
      continue;
    }
    seen.set(key, p.name);
    kept.push(p);
    digests.push(key);
  }
  if (kept.length < MIN_PHOTOS) {
    throw new PosingError(
      `structure from motion needs at least ${MIN_PHOTOS} different photos of the scene taken from different places, got ${kept.length}${photos.length > kept.length ? ` (${photos.length - kept.length} duplicate(s) dropped)` : ''}`,
    );
  }

  // Shared intrinsics: one camera per size (and EXIF make, model and focal length where known).
  const cameraOf = new Map<string, number>();
  const cameras: RadialCamera[] = [];
  const imageCamera = kept.map((p) => {
    const key = `${p.width}x${p.height}|${p.cameraKey ?? ''}|${p.focalPx ?? ''}`;
    let c = cameraOf.get(key);
    if (c === undefined) {
      c = cameras.length;
      cameraOf.set(key, c);
      // Without EXIF the focal length is the field of view being tried (below).
      cameras.push({ f: p.focalPx ?? Number.NaN, cx: p.width / 2, cy: p.height / 2, k1: 0 });
    }
    return c;
  });

  const features: Features[] = [];
  const maxFeatures = opts.maxFeatures ?? 1000;
  const cache = opts.cache;
  const reused = { features: 0, matches: 0 };
  await timed('features', async () => {
    for (const [i, p] of kept.entries()) {
      await check();
      const key = featuresKey(digests[i]!, maxFeatures);
      const stored = cache && (await cache.get(key));
      let f = stored ? decodeFeatures(stored) : undefined;
      if (f) reused.features++;
      else {
        f = await siftGpu(ctx, greyOf(p.rgba, p.width, p.height), { maxFeatures });
        await cache?.set(key, encodeFeatures(f));
      }
      features.push(f);
      opts.onEvent?.({ stage: 'features', done: i + 1, total: kept.length });
    }
  });

  // The pairs to match.
  const n = kept.length;
  const maxExhaustive = opts.maxExhaustive ?? 300;
  const mode = opts.matching ?? (n <= maxExhaustive ? 'exhaustive' : 'sequential');
  const window = opts.window ?? 10;
  if (mode === 'sequential' && !opts.matching)
    notes.push(
      `${n} photos are more than ${maxExhaustive}: each was matched with the ${window} after it (sequential matching, the last with the first as a walk around comes back), and one in every ${window} with the others so picked (to find loops), not every pair`,
    );
  // Sequential: the window, also across the end to the start (a walk around an object comes back to
  // where it began: without those pairs its loop never closes, and a video's full orbit drifted by
  // 1.6° between its ends, docs/BENCHMARKS.md), and loop candidates among every window-th photo
  // (without vocabulary-tree retrieval, a fixed sparse set: (n / window)² / 2 more pairs, in photo
  // order so runs agree). Pairs that do not overlap fail geometric verification and are dropped.
  const toMatch = (a: number, b: number) => mode === 'exhaustive' || b <= a + window || a + n - b <= window || (a % window === 0 && b % window === 0);
  const pairList: [number, number][] = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (toMatch(a, b)) pairList.push([a, b]);

  // Matches, kept as keypoint index pairs: the geometry is verified per focal length tried.
  const matchLists: { a: number; b: number; m: [number, number][] }[] = [];
  const store = new DescriptorStore(ctx);
  try {
    await timed('matching', async () => {
      for (const f of features) store.add(f.descriptors);
      for (const [k, [a, b]] of pairList.entries()) {
        await check();
        const key = matchesKey(digests[a]!, digests[b]!, maxFeatures);
        const stored = cache && (await cache.get(key));
        let m = stored ? decodeMatches(stored, features[a]!.count, features[b]!.count) : undefined;
        if (m) reused.matches++;
        else {
          m = await store.match(a, b);
          await cache?.set(key, encodeMatches(m));
        }
        opts.onEvent?.({ stage: 'matching', done: k + 1, total: pairList.length });
        if (m.length >= MIN_MATCHES) matchLists.push({ a, b, m });
      }
    });
  } finally {
    store.destroy();
  }
  if (reused.features || reused.matches)
    notes.push(
      `read from the cache of an earlier run: the features of ${reused.features} of ${n} photos and the matches of ${reused.matches} of ${pairList.length} pairs`,
    );

  /** Two-view geometry of every matched pair and the incremental reconstruction, with these cameras. */
  const solve = async (start: RadialCamera[], report: boolean): Promise<Reconstruction> => {
    const pairs: MatchedPair[] = [];
    await timed('geometry', async () => {
      for (const { a, b, m } of matchLists) {
        await check();
        const ca = start[imageCamera[a]!]!;
        const cb = start[imageCamera[b]!]!;
        const ka = features[a]!.keypoints;
        const kb = features[b]!.keypoints;
        const [la, lb] = [radialLens(ca), radialLens(cb)];
        const matched = m.map(([i, j]) => ({ x1: unproject(la, ka[i * 4]!, ka[i * 4 + 1]!), x2: unproject(lb, kb[j * 4]!, kb[j * 4 + 1]!) }));
        const geometry = twoViewGeometry(matched, { threshold: 4 / Math.sqrt(ca.f * cb.f), seed: (opts.seed ?? 1) + a * 7919 + b });
        pairs.push({ a, b, matches: Uint32Array.from(m.flat()), geometry });
      }
    });
    return timed('mapping', () =>
      reconstruct(
        kept.map((_, i) => ({ camera: imageCamera[i]!, keypoints: features[i]!.keypoints })),
        start,
        pairs,
        {
          seed: opts.seed ?? 1,
          refineIntrinsics: opts.refineIntrinsics,
          signal: opts.signal,
          onProgress: (e) => {
            if (!report) return;
            if (e.stage === 'register') opts.onEvent?.({ stage: 'register', registered: e.registered, total: e.total, image: kept[e.image]!.name });
            else
              opts.onEvent?.({
                stage: 'bundle',
                registered: e.registered,
                total: e.total,
                reprojectionErrorPx: e.reprojectionErrorPx,
                snapshot: () => {
                  const model = e.model();
                  const cameras = model.poses.flatMap((pose, i) => {
                    if (!pose) return [];
                    const p = kept[i]!;
                    const c = start[imageCamera[i]!]!;
                    return [{ name: p.name, width: p.width, height: p.height, fx: c.f, fy: c.f, cx: c.cx, cy: c.cy, c2w: poseToC2w(pose) }];
                  });
                  return { cameras, xyz: model.xyz };
                },
              });
          },
        },
      ),
    );
  };

  // Without EXIF a focal length is searched: an orbit around an object (every camera aimed at
  // it) leaves the focal length nearly unobservable by bundle adjustment, but a wrong one leaves
  // a larger reprojection error. The fields of view of FOV_GRID are tried, then the best one's
  // neighbours; the model registering the most photos with the smallest error is kept.
  let recon: Reconstruction;
  const focalAt = (fov: number) =>
    cameras.map((c, ci) => {
      const p = kept[imageCamera.indexOf(ci)]!;
      return p.focalPx !== undefined ? { ...c } : { ...c, f: focalOfFieldOfView(p.width, p.height, fov) };
    });
  if (cameras.every((_, c) => kept.some((p, i) => imageCamera[i] === c && p.focalPx !== undefined))) recon = await solve(cameras, true);
  else if (opts.fieldOfViewDeg !== undefined) recon = await solve(focalAt(opts.fieldOfViewDeg), true);
  else {
    const tried = new Map<number, Reconstruction>();
    const at = async (fov: number): Promise<Reconstruction> => {
      const known = tried.get(fov);
      if (known) return known;
      opts.onEvent?.({ stage: 'focal', fieldOfViewDeg: fov, tried: tried.size, total: FOV_GRID.length + 2 });
      const r = await solve(focalAt(fov), false);
      tried.set(fov, r);
      return r;
    };
    const better = (x: Reconstruction, y: Reconstruction) => {
      const rx = x.poses.filter((p) => p).length;
      const ry = y.poses.filter((p) => p).length;
      return rx !== ry ? rx > ry : x.reprojectionErrorPx < y.reprojectionErrorPx;
    };
    let bestFov = FOV_GRID[0]!;
    for (const fov of FOV_GRID) if (better(await at(fov), await at(bestFov))) bestFov = fov;
    const step = (FOV_GRID[1]! - FOV_GRID[0]!) / 2;
    for (const fov of [bestFov - step, bestFov + step]) if (better(await at(fov), await at(bestFov))) bestFov = fov;
    notes.push(`no focal length in the photos' EXIF: searched fields of view of ${[...tried.keys()].sort((x, y) => x - y).join(', ')}°; ${bestFov}° fits best`);
    // The chosen model again, reporting its progress: from the focal length its adjustment settled
    // at where that is more than a tenth from where it started. A model built at a wrong focal
    // length keeps its wrong structure after the focal length comes back (the video bench's orbit:
    // 75° chosen for a 40° lens, settled at 41°, broken at 4.9° until solved again from 41°: 0.13°).
    const start = focalAt(bestFov);
    const settled = tried.get(bestFov)!.cameras;
    const moved = settled.some((c, i) => Math.abs(c.f / start[i]!.f - 1) > 0.1);
    recon = await solve(moved ? start.map((c, i) => ({ ...c, f: settled[i]!.f })) : start, true);
    if (moved)
      notes.push(
        `the focal length settled far from that field of view, so the photos were posed again from it (${settled.map((c) => `${c.f.toFixed(1)} px`).join(', ')})`,
      );
  }
  for (const u of recon.unregistered) unregistered.push({ file: kept[u.image]!.name, reason: u.reason });

  const xyz = new Float64Array(recon.points.length * 3);
  const rgb = new Uint8Array(recon.points.length * 3);
  recon.points.forEach((p, i) => {
    xyz.set(p.xyz, i * 3);
    const o = p.observations[0]!;
    const photo = kept[o.image]!;
    const k = features[o.image]!.keypoints;
    const x = Math.min(photo.width - 1, Math.max(0, Math.floor(k[o.keypoint * 4]!)));
    const y = Math.min(photo.height - 1, Math.max(0, Math.floor(k[o.keypoint * 4 + 1]!)));
    rgb.set(photo.rgba.subarray((y * photo.width + x) * 4, (y * photo.width + x) * 4 + 3), i * 3);
  });
  return {
    cameras: recon.cameras,
    photos: kept.map((p, i) => ({ name: p.name, camera: imageCamera[i]!, pose: recon.poses[i]! })),
    points: {
      xyz,
      rgb,
      observations: recon.points.map((p) =>
        p.observations.map((o) => ({ photo: o.image, x: features[o.image]!.keypoints[o.keypoint * 4]!, y: features[o.image]!.keypoints[o.keypoint * 4 + 1]! })),
      ),
    },
    unregistered,
    reprojectionErrorPx: recon.reprojectionErrorPx,
    secondsByStage: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, +v.toFixed(3)])),
    notes,
  };
}

/** Photos that cannot be posed at all (too few of them); the message says what is needed. */
export class PosingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PosingError';
  }
}

/** FNV-1a of the pixels (duplicates are the same pixels). */
