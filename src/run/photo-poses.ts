// Plain photos to a posed capture: the photos read at the working size (data/photos.ts), posed by
// structure from motion (sfm/pose-photos.ts), and written as a capture that opens again
// (export/capture.ts): the photos as they are, under their own names, with the cameras at their
// full size, a COLMAP model (binary and text, with the sparse points and their tracks) and a
// transforms.json. The CLI's `poses` and `train --data` on photos both come through here.
import { c2wOf, transpose3 } from '../camera/rotation.ts';
import type { InputLimits } from '../data/input-limits.ts';
import { findPhotos, type PhotoIntake, readPhotos } from '../data/photos.ts';
import { DatasetError, type FileSource, type ImageDecoder, type PosedView } from '../data/types.ts';
import { type CaptureView, captureFiles, type RefinedCapture } from '../export/capture.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { JobControl } from '../job/job.ts';
import type { PosingCache } from '../sfm/cache.ts';
import { poseCentre } from '../sfm/pose.ts';
import { PosingError, type PosingEvent, type PosingResult, posePhotos } from '../sfm/pose-photos.ts';

/** Posing's events and the photos' reading, as they go. */
export type PhotoPosingEvent = PosingEvent | { stage: 'reading'; done: number; total: number };

/** A job (job/job.ts): events to `onEvent`, aborting `signal` cancels. */
export interface PhotoPosesOptions extends JobControl<PhotoPosingEvent> {
  decode: ImageDecoder;
  limits: InputLimits;
  /** The working size's long edge, pixels. */
  maxSize?: number;
  /** Also at most 1/downscale of each photo's size. */
  downscale?: number;
  maxImages?: number;
  seed?: number;
  /** The field of view of photos without an EXIF focal length (degrees across the long edge), instead of searching. */
  fieldOfViewDeg?: number;
  /** Where features and matches are kept by content for a later run. */
  cache?: PosingCache;
  /** Photos in order (a video's frames): matched sequentially (sfm/pose-photos.ts). */
  ordered?: boolean;
  /** The capture holds the photos' bytes (default); false: only its cameras and model, the photos named in `photoFiles`. */
  withPhotos?: boolean;
}

export interface PhotoPoses {
  intake: PhotoIntake;
  result: PosingResult;
  /** The posed capture's files (photos, sparse/0, transforms.json). */
  capture: RefinedCapture;
  /** Each placed photo: its path in the capture (images/NAME) and in the source. */
  photoFiles: { path: string; source: string }[];
  /** The JSON record the CLI prints. */
  summary: {
    images: number;
    registered: number;
    unregistered: { file: string; reason: string }[];
    points: number;
    reprojectionErrorPx: number;
    secondsByStage: Record<string, number>;
    workingSize: number;
    notes: string[];
    warnings: string[];
  };
}

/** The working size's long edge by default: enough detail for features, little enough for a laptop. */
export const DEFAULT_WORKING_SIZE = 1024;

export { findPhotos };

export async function posePhotoSource(ctx: GpuContext, src: FileSource, opts: PhotoPosesOptions): Promise<PhotoPoses> {
  const paths = await findPhotos(src);
  if (paths.length === 0) throw new DatasetError(src.label, 'no photos (.jpg, .jpeg, .png, .webp, .heic or .heif) found, at its top or in images/');
  const maxSize = opts.maxSize ?? DEFAULT_WORKING_SIZE;
  const intake = await readPhotos(src, paths, {
    decode: opts.decode,
    limits: opts.limits,
    maxSize,
    downscale: opts.downscale,
    maxImages: opts.maxImages,
    onProgress: (done, total) => opts.onEvent?.({ stage: 'reading', done, total }),
    signal: opts.signal,
  });
  const result = await posePhotos(ctx, intake.photos, {
    seed: opts.seed,
    fieldOfViewDeg: opts.fieldOfViewDeg,
    onEvent: opts.onEvent,
    signal: opts.signal,
    cache: opts.cache,
    ...(opts.ordered ? { matching: 'sequential' as const } : {}),
  }).catch((e: unknown) => {
    if (!(e instanceof PosingError)) throw e;
    const skipped = intake.skipped.length ? ` (${intake.skipped.length} skipped: ${intake.skipped.map((s) => `${s.file}: ${s.reason}`).join('; ')})` : '';
    throw new DatasetError(src.label, `${e.message}${skipped}`);
  });
  const unregistered = [...intake.skipped, ...result.unregistered];
  // The capture at the photos' full size: the working size's intrinsics scaled up.
  const views: CaptureView[] = [];
  const viewOf: number[] = [];
  const photoFiles: PhotoPoses['photoFiles'] = [];
  for (const [i, p] of result.photos.entries()) {
    if (!p.pose) continue;
    const photo = intake.photos[i]!;
    const cam = result.cameras[p.camera]!;
    const sx = photo.fullWidth / photo.width;
    const sy = photo.fullHeight / photo.height;
    const view: PosedView = {
      width: photo.fullWidth,
      height: photo.fullHeight,
      fx: cam.f * sx,
      fy: cam.f * sy,
      cx: cam.cx * sx,
      cy: cam.cy * sy,
      c2w: c2wOf(transpose3(p.pose.r), poseCentre(p.pose)),
      ...(cam.k1 !== 0 ? { distortion: { k1: cam.k1, k2: 0, p1: 0, p2: 0 } } : {}),
    };
    viewOf[i] = views.length;
    const name = captureName(photo.name);
    views.push({ view, name, ...(opts.withPhotos === false ? {} : { image: await src.readBytes(photo.name) }) });
    photoFiles.push({ path: `images/${name}`, source: photo.name });
  }
  const capture = captureFiles(views, {
    xyz: result.points.xyz,
    rgb: result.points.rgb,
    observations: result.points.observations.map((obs) =>
      obs.map((o) => {
        const photo = intake.photos[o.photo]!;
        return { view: viewOf[o.photo]!, x: (o.x * photo.fullWidth) / photo.width, y: (o.y * photo.fullHeight) / photo.height };
      }),
    ),
  });
  return {
    intake,
    result,
    capture,
    photoFiles,
    summary: {
      images: paths.length,
      registered: views.length,
      unregistered,
      points: result.points.xyz.length / 3,
      reprojectionErrorPx: +result.reprojectionErrorPx.toFixed(4),
      secondsByStage: result.secondsByStage,
      workingSize: maxSize,
      notes: result.notes,
      warnings: intake.warnings,
    },
  };
}

/** A photo's name in the capture: its path without the images/ folder it was found in. */
const captureName = (path: string) => path.replace(/^images\//, '');
