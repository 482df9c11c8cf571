// Opening a dataset: the format is recognised from its files, its planner reads the frames
// (blender.ts, ngp.ts), and every image is decoded, checked and downscaled here. Environment-
// neutral: file access goes through a FileSource and image decoding through an ImageDecoder, so the
// same code runs in Node (CLI, tests) and in the browser.
import { centreOf } from '../camera/rotation.ts';
import { blenderFormat } from './blender.ts';
import { colmapFormat } from './colmap.ts';
import { downscaleRGBA } from './downscale.ts';
import { checkImageHeader, type InputLimits } from './input-limits.ts';
import { llffFormat } from './llff.ts';
import { ngpFormat } from './ngp.ts';
import { placeCapture, placePoints, placePose } from './placement.ts';
import type { DatasetFormat, DatasetPlan, IntrinsicsSpec, SplitPlan } from './plan.ts';
import { glToCv, joinLabel } from './transforms-json.ts';
import {
  type Dataset,
  DatasetError,
  type DecodedImage,
  type FileSource,
  type ImageDecoder,
  type PosedView,
  type SceneBox,
  type Split,
  type SplitName,
} from './types.ts';

export interface LoadOptions {
  /** Integer factor >= 1; images are box-filtered and intrinsics divided by it. Default 1. */
  downscale?: number;
  decode: ImageDecoder;
  /** Splits to load. 'train' is always loaded. Default: all present. */
  splits?: SplitName[];
  /** For captures without a test split: every Nth view is held out for testing (8 by default, the LLFF protocol; 0 trains on all). */
  holdOut?: number;
  /** Called after each image is decoded; total counts images over all splits being loaded. */
  onProgress?: (done: number, total: number) => void;
  /** Cap on images per split, picked evenly spaced over the frame list (frame 0 always kept). For quick tests. */
  maxImages?: number;
  /** What one image may decode to (its header is checked before decoding). */
  limits: InputLimits;
}

/** How many images are read/decoded at once; decoders that are truly async (browser) profit from overlap. */
const DECODE_CONCURRENCY = 4;

/**
 * The formats, in the order they are tried: each recognises its folder and plans its splits. LLFF
 * comes before COLMAP: an LLFF folder usually keeps the sparse model its poses were made from,
 * and poses_bounds.npy is what the LLFF protocol uses.
 */
const FORMATS: DatasetFormat[] = [blenderFormat, ngpFormat, llffFormat, colmapFormat];

/** Whether a folder holds a capture some reader takes (poses of some format). */
export async function isCapture(src: FileSource): Promise<boolean> {
  for (const f of FORMATS) if (await f.detect(src)) return true;
  return false;
}

export async function loadDataset(src: FileSource, opts: LoadOptions): Promise<Dataset> {
  const downscale = opts.downscale ?? 1;
  if (!Number.isInteger(downscale) || downscale < 1) {
    throw new DatasetError(src.label, `downscale must be a positive integer (1, 2, 4, ...), got ${downscale}`);
  }
  if (opts.maxImages !== undefined && (!Number.isInteger(opts.maxImages) || opts.maxImages < 1)) {
    throw new DatasetError(src.label, `maxImages must be a positive integer, got ${opts.maxImages}`);
  }
  const warnings: string[] = [];
  let plan: DatasetPlan | null = null;
  const present: DatasetFormat[] = [];
  for (const f of FORMATS) if (await f.detect(src)) present.push(f);
  for (const [i, f] of present.entries()) {
    try {
      plan = await f.plan(src, { splits: opts.splits, maxImages: opts.maxImages, downscale, holdOut: opts.holdOut, warnings });
      break;
    } catch (e) {
      // A folder may hold two readings of one capture (LLFF's poses_bounds.npy beside the COLMAP
      // model it was made from): when the first cannot be used, the next is, and the user is told.
      const next = present[i + 1];
      if (!(e instanceof DatasetError) || !next) throw e;
      warnings.push(`${e.message}; used ${next.name} beside it instead`);
    }
  }
  if (!plan) {
    throw new DatasetError(
      src.label,
      'no transforms_train.json, transforms.json, poses_bounds.npy or COLMAP sparse model (sparse/0/cameras.bin and images.bin, or .txt) found ' +
        '(expected a NeRF-Synthetic/Blender folder, an instant-ngp/nerfstudio folder, an LLFF folder or a COLMAP folder)',
    );
  }

  const total = plan.splits.reduce((n, p) => n + p.frames.length, 0);
  const progress = { done: 0, total, onProgress: opts.onProgress };
  const splits: Partial<Record<SplitName, Split>> = {};
  for (const split of plan.splits) {
    splits[split.name] = await loadSplit(src, split, downscale, opts.decode, opts.limits, progress);
  }
  // A capture's alpha is a mask when it has masks, or when its own images are not opaque (an
  // object on a cleared background); Blender's alpha is composited on white instead.
  const masked =
    !plan.whiteBackground && (plan.splits.some((s) => s.frames.some((f) => f.maskPath)) || Object.values(splits).some((s) => s!.images.some(hasTransparency)));
  // Where the files state no box, the capture is placed from its cameras and points, one rule for
  // every format (placement.ts); the cameras of every split move with it.
  let aabb = plan.aabb;
  let points: Dataset['points'];
  if (aabb) {
    if (plan.points) points = { xyz: Float32Array.from(plan.points.xyz), rgb: plan.points.rgb };
  } else {
    const placement = placeCapture(plan.capturePoses ?? [], plan.points?.xyz, masked);
    for (const s of Object.values(splits)) for (const c of s!.cameras) c.c2w = placePose(placement, c.c2w);
    aabb = placement.box;
    if (plan.points) points = { xyz: placePoints(placement, plan.points.xyz), rgb: plan.points.rgb };
  }
  warnings.push(...farCameraWarnings(splits, aabb));
  return {
    format: plan.format,
    name: datasetName(src.label),
    splits,
    aabb,
    nearFar: plan.nearFar,
    whiteBackground: plan.whiteBackground,
    warnings,
    ...(masked ? { masked } : {}),
    // Scene kind: a capture whose photos show their surroundings (not masked, not Blender's
    // transparent renders) is unbounded, and trains with the scene contracted.
    ...(!plan.whiteBackground && !masked ? { unbounded: true } : {}),
    ...(points ? { points } : {}),
    ...(plan.nearestDepth !== undefined ? { nearestDepth: plan.nearestDepth } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Image loading

async function loadSplit(
  src: FileSource,
  plan: SplitPlan,
  k: number,
  decode: ImageDecoder,
  limits: InputLimits,
  progress: { done: number; total: number; onProgress?: (done: number, total: number) => void },
): Promise<Split> {
  const where = (path: string): string => joinLabel(src.label, path);
  const jsonLabel = where(plan.jsonPath);

  /** Multiplies a mask into the image's alpha (its red channel: masks are grey or black and white). */
  const applyMask = async (img: DecodedImage, path: string): Promise<void> => {
    const bytes = await src.readBytes(path);
    const tooBig = checkImageHeader(bytes, limits);
    if (tooBig) throw new DatasetError(where(path), tooBig);
    let mask: DecodedImage;
    try {
      mask = await decode(bytes, where(path));
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      throw new DatasetError(where(path), `cannot decode the mask (${(e as Error).message})`);
    }
    if (mask.width !== img.width || mask.height !== img.height) {
      throw new DatasetError(where(path), `the mask is ${mask.width}x${mask.height} but its image is ${img.width}x${img.height}`);
    }
    for (let i = 3; i < img.data.length; i += 4) img.data[i] = Math.round((img.data[i]! * mask.data[i - 3]!) / 255);
  };

  const loaded = await mapPool(plan.frames, DECODE_CONCURRENCY, async (f) => {
    const bytes = await src.readBytes(f.imagePath);
    // A header claiming more pixels than this machine can hold is refused before decoding.
    const tooBig = checkImageHeader(bytes, limits);
    if (tooBig) throw new DatasetError(where(f.imagePath), tooBig);
    let img: DecodedImage;
    try {
      img = await decode(bytes, where(f.imagePath));
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      throw new DatasetError(where(f.imagePath), `cannot decode image (${(e as Error).message})`);
    }
    if (img.data.length !== img.width * img.height * 4) {
      throw new DatasetError(where(f.imagePath), `decoder returned ${img.data.length} bytes for a ${img.width}x${img.height} RGBA image`);
    }
    const { w, h } = f.intrinsics;
    // An image stored downscaled by `pre` stands for a full-size one (its size rounded either way).
    const pre = f.preScaled ?? 1;
    const fits = (declared: number | undefined, actual: number) =>
      declared === undefined || (pre === 1 ? declared === actual : Math.abs(declared / pre - actual) < 1);
    if (!fits(w, img.width) || !fits(h, img.height)) {
      const stored = pre === 1 ? '' : ` (stored at 1/${pre})`;
      throw new DatasetError(
        where(f.imagePath),
        `image is ${img.width}x${img.height}${stored} but ${jsonLabel} declares w=${w ?? '?'}, h=${h ?? '?'} for frame ${f.index}`,
      );
    }
    if (k > img.width * pre || k > img.height * pre) {
      throw new DatasetError(where(f.imagePath), `downscale ${k} is larger than the image (${img.width}x${img.height})`);
    }
    if (f.maskPath) await applyMask(img, f.maskPath);
    const small = downscaleRGBA(img.data, img.width, img.height, k / pre);
    progress.done++;
    progress.onProgress?.(progress.done, progress.total);
    return { fullW: w ?? img.width * pre, fullH: h ?? img.height * pre, small };
  });

  // Images may differ in size (a COLMAP model with several cameras): each camera carries its own.
  const first = loaded[0];

  const cameras = plan.frames.map((f, i) => {
    const { fullW, fullH, small } = loaded[i];
    const intr = resolveIntrinsics(f.intrinsics, fullW, fullH, `${jsonLabel} frame ${f.index}`);
    const cam: PosedView = {
      width: small.width,
      height: small.height,
      fx: intr.fx / k,
      fy: intr.fy / k,
      cx: intr.cx / k,
      cy: intr.cy / k,
      c2w: glToCv(f.c2wGL),
    };
    if (f.intrinsics.distortion) cam.distortion = { ...f.intrinsics.distortion };
    if (f.intrinsics.fisheye) cam.fisheye = { ...f.intrinsics.fisheye };
    return cam;
  });

  return {
    names: plan.frames.map((f) => f.imagePath),
    cameras,
    images: loaded.map((l) => l.small.data),
    width: first.small.width,
    height: first.small.height,
  };
}

/**
 * Runs fn over items with at most `limit` calls in flight, keeping result order. After a
 * failure no new items are started; the error of the lowest failing index is thrown, which
 * is deterministic because items are started in order.
 */
async function mapPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const errors: { index: number; error: unknown }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && errors.length === 0) {
      const index = next++;
      try {
        results[index] = await fn(items[index]);
      } catch (error) {
        errors.push({ index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) {
    errors.sort((a, b) => a.index - b.index);
    throw errors[0].error;
  }
  return results;
}

/** Fills in focal lengths and principal point from whatever the file declared, given the image size. */
function resolveIntrinsics(spec: IntrinsicsSpec, imgW: number, imgH: number, ctx: string) {
  const w = spec.w ?? imgW;
  const h = spec.h ?? imgH;
  const fromAngle = (size: number, angle: number | undefined): number | undefined => (angle === undefined ? undefined : (0.5 * size) / Math.tan(0.5 * angle));
  let fx = spec.flX ?? fromAngle(w, spec.angleX);
  let fy = spec.flY ?? fromAngle(h, spec.angleY);
  // With only one of the two given, pixels are assumed square (as instant-ngp does).
  fx ??= fy;
  fy ??= fx;
  if (fx === undefined || fy === undefined || !(fx > 0) || !(fy > 0) || !Number.isFinite(fx) || !Number.isFinite(fy)) {
    throw new DatasetError(ctx, `focal length must be a positive finite number, got fx=${fx}, fy=${fy}`);
  }
  return { fx, fy, cx: spec.cx ?? w / 2, cy: spec.cy ?? h / 2 };
}

/** How far from the scene box's centre, in box diagonals, a camera may be before it is named as suspect. */
const FAR_CAMERA = 100;

/**
 * The cameras far from the scene (a 1e38 in a transforms file): over FAR_CAMERA box diagonals
 * from the box's centre. Such a camera sees nothing of the scene, and its rays lose all precision
 * in f32: the user is told which, by file.
 */
function farCameraWarnings(splits: Partial<Record<SplitName, Split>>, box: SceneBox): string[] {
  const mid = [0, 1, 2].map((k) => (box[0][k]! + box[1][k]!) / 2);
  const diagonal = Math.hypot(...box[1].map((v, k) => v - box[0][k]!));
  return Object.values(splits).flatMap((s) =>
    s!.cameras.flatMap((cam, i) => {
      const c = centreOf(cam.c2w);
      if (Math.hypot(...c.map((v, k) => v - mid[k]!)) <= FAR_CAMERA * diagonal) return [];
      return [`${s!.names[i]}: its camera is at ${c.map((v) => v.toPrecision(3)).join(', ')}, over ${FAR_CAMERA} scene sizes from the scene; check its pose`];
    }),
  );
}

function hasTransparency(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i]! < 255) return true;
  return false;
}

function datasetName(label: string): string {
  const parts = label.split(/[\\/]+/).filter((p) => p !== '');
  const last = parts[parts.length - 1] ?? 'dataset';
  return last.replace(/\.zip$/i, '');
}
