// Plain photos, with no poses: a folder, a .zip or a list of JPEG, PNG, WebP or HEIC files (the
// browser decodes the first three, libheif the last, data/heif.ts; Node through
// data/image-node.ts), read one at a time and brought to a working size by the long edge, with
// what their EXIF says (focal length in 35 mm terms, make, model) read by exifr. Structure from
// motion (sfm/) poses them.
//
// Orientation policy: the geometry follows the stored pixels, as COLMAP's does. EXIF orientation
// is read and reported, not applied: the posed capture written beside the photos keeps the photos
// as they are, and every reader (ours, COLMAP, nerfstudio) sees the same pixels the poses were
// computed on. A HEIC's pixels are those after its container's rotation (irot, imir), which
// libheif applies as every HEIC reader does; its EXIF orientation states the same turn and is
// not applied again.
import exifr from 'exifr';
import { resizeRGBA } from './downscale.ts';
import { heifExif, isHeif } from './heif.ts';
import { checkImageHeader, type InputLimits } from './input-limits.ts';
import { joinLabel } from './transforms-json.ts';
import { DatasetError, type FileSource, type ImageDecoder } from './types.ts';

export const PHOTO = /\.(jpe?g|png|webp|heic|heif)$/i;

/** A photo at its working size, as structure from motion takes it. */
export interface PhotoInput {
  /** Its path in the source ('/'-separated). */
  name: string;
  width: number;
  height: number;
  rgba: Uint8Array;
  /** The file's own size (the working size is at most this). */
  fullWidth: number;
  fullHeight: number;
  /** Focal length in pixels at the working size, from EXIF's 35 mm equivalent focal length. */
  focalPx?: number;
  /** EXIF make, model and focal length: photos that share them (and a size) share intrinsics. */
  cameraKey?: string;
}

export interface PhotoIntake {
  photos: PhotoInput[];
  /** Files that could not be used, with why. */
  skipped: { file: string; reason: string }[];
  warnings: string[];
}

/** The photos of a folder without poses: its own image files, or those of its images/ folder. */
export async function findPhotos(src: FileSource): Promise<string[]> {
  for (const folder of ['', 'images/']) {
    const names = (await src.list(folder.replace(/\/$/, ''))).filter((f) => PHOTO.test(f));
    if (names.length > 0) return names.map((n) => folder + n);
  }
  return [];
}

export interface PhotoOptions {
  decode: ImageDecoder;
  limits: InputLimits;
  /** The working size's long edge, pixels (photos larger are resampled down; none are enlarged). */
  maxSize: number;
  /** Also at most 1/downscale of each photo's size. */
  downscale?: number;
  /** At most this many photos, evenly spaced (frame 0 kept). */
  maxImages?: number;
  onProgress?: (done: number, total: number) => void;
  /** Checked before each photo: aborting it stops the reading with its reason. */
  signal?: AbortSignal;
}

/** Reads the photos one at a time (only the working size of each stays in memory). */
export async function readPhotos(src: FileSource, paths: readonly string[], opts: PhotoOptions): Promise<PhotoIntake> {
  const picked =
    opts.maxImages && paths.length > opts.maxImages
      ? Array.from({ length: opts.maxImages }, (_, i) => paths[Math.floor((i * paths.length) / opts.maxImages!)]!)
      : paths;
  const photos: PhotoInput[] = [];
  const skipped: PhotoIntake['skipped'] = [];
  const warnings: string[] = [];
  const turned: string[] = [];
  for (const [i, path] of picked.entries()) {
    opts.signal?.throwIfAborted();
    const where = joinLabel(src.label, path);
    const bytes = await src.readBytes(path);
    const tooBig = checkImageHeader(bytes, opts.limits);
    if (tooBig) {
      skipped.push({ file: path, reason: tooBig });
      continue;
    }
    let img: Awaited<ReturnType<ImageDecoder>>;
    try {
      img = await opts.decode(bytes, where);
    } catch (e) {
      skipped.push({ file: path, reason: `cannot be decoded (${e instanceof DatasetError ? e.problem : (e as Error).message})` });
      continue;
    }
    const exif = await readExif(bytes).catch((e: Error) => {
      warnings.push(`${where}: its EXIF could not be read (${e.message}); it is used without`);
      return null;
    });
    // A HEIC's container rotation is applied as it decodes (data/heif.ts); its EXIF orientation says the same turn.
    if (exif?.Orientation && exif.Orientation !== 1 && !isHeif(bytes)) turned.push(path);
    const scale = Math.min(1, 1 / (opts.downscale ?? 1), opts.maxSize / Math.max(img.width, img.height));
    const w = Math.max(1, Math.round(img.width * scale));
    const h = Math.max(1, Math.round(img.height * scale));
    const small = resizeRGBA(img.data, img.width, img.height, w, h);
    const f35 = Number(exif?.FocalLengthIn35mmFormat);
    photos.push({
      name: path,
      width: w,
      height: h,
      rgba: small.data,
      fullWidth: img.width,
      fullHeight: img.height,
      // 35 mm film is 36 mm across its long edge.
      ...(f35 > 0 ? { focalPx: (f35 / 36) * Math.max(w, h) } : {}),
      ...(exif?.Make || exif?.Model ? { cameraKey: `${exif.Make ?? ''}|${exif.Model ?? ''}|${exif.FocalLength ?? ''}` } : {}),
    });
    opts.onProgress?.(i + 1, picked.length);
  }
  if (picked.length < paths.length) warnings.push(`${src.label}: ${picked.length} of ${paths.length} photos used (evenly spaced), as asked`);
  if (turned.length > 0)
    warnings.push(
      `${turned.length} photo(s) are marked in EXIF to be shown turned (${turned.slice(0, 3).join(', ')}${turned.length > 3 ? ', …' : ''}): poses are computed on the stored pixels, as COLMAP does`,
    );
  return { photos, skipped, warnings };
}

interface Exif {
  Make?: string;
  Model?: string;
  FocalLength?: number;
  FocalLengthIn35mmFormat?: number;
  Orientation?: number;
}

/**
 * The EXIF fields posing uses; null for a file without EXIF (PNG usually), an error for a broken
 * block. A HEIC's EXIF item is found by heifExif and its TIFF block given to exifr.
 */
async function readExif(bytes: Uint8Array): Promise<Exif | null> {
  let exif: Exif | null;
  try {
    const pick = ['Make', 'Model', 'FocalLength', 'FocalLengthIn35mmFormat', 'Orientation'];
    const block = isHeif(bytes) ? heifExif(bytes) : bytes;
    if (!block) return null;
    exif = ((await exifr.parse(block, { pick, translateValues: false })) as (Exif & { errors?: Error[] }) | undefined) ?? null;
    // exifr reports a block it could not follow in an `errors` list rather than throwing.
    const errors = (exif as { errors?: Error[] } | null)?.errors;
    if (errors?.length) throw new Error(errors[0]!.message.split('\n')[0]);
  } catch (e) {
    // exifr says "Unknown file format" for files it does not parse at all (no EXIF to read).
    if (/Unknown file format/.test((e as Error).message)) return null;
    throw e;
  }
  return exif;
}
