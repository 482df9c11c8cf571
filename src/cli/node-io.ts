// What the CLI and the bench read and say in Node: progress on stderr, datasets from a folder (or
// the built-in demo scene), model and scene files from disk, and the engine's advice for a run
// that cannot fit, worded as flags and options.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { decodeImageNode } from '../data/image-node.ts';
import { type InputLimits, tooManyBytes } from '../data/input-limits.ts';
import { DEFAULT_KEYFRAMES, VIDEO } from '../data/keyframes.ts';
import { isCapture, loadDataset } from '../data/load.ts';
import { nodeFolderSource, nodeInputLimits } from '../data/node-source.ts';
import { proceduralDataset } from '../data/procedural.ts';
import { mapSource, zipSource } from '../data/sources.ts';
import { type Dataset, DatasetError, type FileSource } from '../data/types.ts';
import { hasFfmpeg, videoKeyframesNode } from '../data/video-node.ts';
import type { TensorField } from '../field/field.ts';
import { formatBytes, type GpuContext, type LimitAdvice } from '../gpu/context.ts';
import { nodeGpu } from '../gpu/node.ts';
import { isCancelled } from '../job/job.ts';
import { fieldFromBytes } from '../run/models.ts';
import { DEFAULT_WORKING_SIZE, findPhotos, type PhotoPoses, type PhotoPosesOptions, posePhotoSource } from '../run/photo-poses.ts';
import type { PosingCache } from '../sfm/cache.ts';

export const log = (msg: string) => process.stderr.write(`${msg}\n`);

/**
 * `--data builtin:demo` is the procedural scene, `builtin:environment` the same standing in ground
 * and sky (an unbounded scene), `builtin:forward` that seen forward-facing (LLFF's layout); a path ending in .zip an archive; anything else a dataset folder.
 * `holdOut`: every Nth view of a capture without a test split is held out (0: none).
 */
export async function openDataset(dir: string, downscale: number, splits: ('train' | 'test')[], holdOut?: number, posesDir?: string): Promise<Dataset> {
  const size = Math.max(16, Math.round(128 / downscale));
  if (dir === 'builtin:demo') return proceduralDataset({ size });
  if (dir === 'builtin:environment') return proceduralDataset({ size, background: 'environment' });
  if (dir === 'builtin:forward') return proceduralDataset({ size, background: 'environment', layout: 'forward' });
  const limits = nodeInputLimits();
  // Plain photos (or a video's keyframes) are posed first (structure from motion); the posed
  // capture is written to `posesDir` and read from there, so a resumed run finds the same cameras.
  // The source is opened once (a .zip is read whole).
  let src = VIDEO.test(dir) ? null : await sourceOf(dir, limits);
  if (!src || (await holdsPlainPhotos(src))) {
    const out =
      posesDir ??
      `${dir
        .replace(/[\\/]+$/, '')
        .replace(/\.zip$/i, '')
        .replace(VIDEO, '')}.poses`;
    const existing = nodeFolderSource(out, limits);
    if (await isCapture(existing)) log(`no poses in ${dir}: using the camera poses computed before, in ${out}`);
    else {
      log(`no poses in ${dir}: computing camera poses from its photos (structure from motion), written to ${out}`);
      const poses = await posePhotosNode(dir, { cache: posingCache(undefined) });
      for (const n of poses.summary.notes) log(`note: ${n}`);
      for (const u of poses.summary.unregistered) log(`not placed: ${u.file}: ${u.reason}`);
      log(
        `placed ${poses.summary.registered} of ${poses.summary.images} photos, ${poses.summary.points} points, ${poses.summary.reprojectionErrorPx} px reprojection error`,
      );
      await writeFiles(poses.capture.files, out);
    }
    src = nodeFolderSource(out, limits);
  }
  let last = -1;
  const ds = await loadDataset(src, {
    downscale,
    decode: decodeImageNode,
    splits,
    holdOut,
    limits,
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct >= last + 10 || done === total) {
        last = pct;
        log(`loading ${basename(dir)}: ${done}/${total} images`);
      }
    },
  });
  for (const w of ds.warnings) log(`warning: ${w}`);
  return ds;
}

/** A folder, or a path ending in .zip an archive, as a file source. */
async function sourceOf(dir: string, limits: InputLimits): Promise<FileSource> {
  return dir.toLowerCase().endsWith('.zip') ? zipFile(dir, limits) : nodeFolderSource(dir, limits);
}

/** Whether `dir` (a folder or .zip) holds plain photos without poses, or is a video, which `train` poses first. */
export async function isPlainPhotos(dir: string): Promise<boolean> {
  if (dir.startsWith('builtin:')) return false;
  return VIDEO.test(dir) || holdsPlainPhotos(await sourceOf(dir, nodeInputLimits()));
}

/** Photos without any capture format's poses beside them. */
const holdsPlainPhotos = async (src: FileSource): Promise<boolean> => !(await isCapture(src)) && (await findPhotos(src)).length > 0;

/**
 * A video's keyframes as photos to pose (data/video-node.ts). Node has no WebCodecs: ffmpeg decodes
 * it where installed; otherwise refused with the ffmpeg command that extracts its frames.
 */
async function videoSource(path: string, target: number, maxSize: number, signal: AbortSignal): Promise<{ source: FileSource; notes: string[] }> {
  if (!hasFfmpeg()) {
    throw new DatasetError(
      path,
      `a video: the CLI decodes video with ffmpeg, which is not installed (Debian: apt install ffmpeg). Or extract its frames with ffmpeg elsewhere (it honours the video's rotation), about 3 a second: ` +
        `mkdir frames && ffmpeg -i "${path}" -vf fps=3 -q:v 2 frames/%05d.jpg, then pose them: npm run cli -- poses --data frames --out DIR. ` +
        'The studio takes the video itself (its keyframes chosen by sharpness and motion)',
    );
  }
  let last = -1;
  const kf = await videoKeyframesNode(path, {
    target,
    maxSize,
    signal,
    onProgress: (done, total) => {
      const pct = Math.floor((10 * done) / total) * 10;
      if (pct > last) log(`keyframes: ${pct}% of ${total} frames looked at`);
      last = pct;
    },
  });
  return { source: mapSource(kf.frames, basename(path)), notes: kf.notes };
}

/** Poses the plain photos of a folder or .zip, or a video's keyframes, with progress on stderr. */
export async function posePhotosNode(dir: string, opts: Partial<PhotoPosesOptions> & { keyframes?: number }): Promise<PhotoPoses> {
  const limits = nodeInputLimits();
  const { keyframes, ...posing } = opts;
  // Ctrl-C cancels posing (nothing is written).
  const cancel = cancelOnCtrlC('poses: cancelling (Ctrl-C again to quit at once)');
  const cancelled = (e: unknown): never => {
    if (!isCancelled(e, cancel.signal)) throw e;
    log('poses: cancelled; nothing was written');
    process.exit(130);
  };
  try {
    const video = VIDEO.test(dir)
      ? await videoSource(dir, keyframes ?? DEFAULT_KEYFRAMES, posing.maxSize ?? DEFAULT_WORKING_SIZE, cancel.signal).catch(cancelled)
      : null;
    const src = video?.source ?? (await sourceOf(dir, limits));
    const ctx = await nodeGpu();
    let shown = '';
    const poses = await posePhotoSource(ctx, src, {
      decode: decodeImageNode,
      limits,
      ...posing,
      // A video's keyframes are posed in order and travel in the capture.
      ...(video ? { ordered: true, withPhotos: true } : {}),
      signal: cancel.signal,
      onEvent: (e) => {
        const line =
          e.stage === 'reading' || e.stage === 'features' || e.stage === 'matching'
            ? `${e.stage}: ${Math.floor((10 * e.done) / e.total) * 10}%`
            : e.stage === 'focal'
              ? `focal length: trying a ${e.fieldOfViewDeg}° field of view`
              : e.stage === 'register'
                ? `registered ${e.registered} of ${e.total} photos (${e.image})`
                : `bundle adjustment over ${e.registered} photos: ${e.reprojectionErrorPx.toFixed(3)} px`;
        if (line !== shown) log(`poses: ${line}`);
        shown = line;
      },
    }).catch(cancelled);
    // What was done to the video comes first among the notes (the JSON's too).
    return video ? { ...poses, summary: { ...poses.summary, notes: [...video.notes, ...poses.summary.notes] } } : poses;
  } finally {
    cancel.release();
  }
}

/**
 * Ctrl-C as a job's cancel (job/job.ts): the first says `message` and aborts the signal, a second
 * quits at once (exit 130). `release` stops listening for the first.
 */
export function cancelOnCtrlC(message: string): { signal: AbortSignal; release: () => void } {
  const cancel = new AbortController();
  const interrupt = () => {
    log(message);
    cancel.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  return { signal: cancel.signal, release: () => process.off('SIGINT', interrupt) };
}

/**
 * Where posing keeps features and matches by content: `dir`, else $SLIMFIELD_CACHE, else
 * ~/.cache/slimfield; 'off' keeps nothing. Entries are written whole (to a temporary name, then
 * renamed), so an interrupted run leaves none half written.
 */
export function posingCache(dir: string | undefined): PosingCache | undefined {
  const root = dir ?? process.env.SLIMFIELD_CACHE ?? join(homedir(), '.cache', 'slimfield');
  if (root === 'off') return undefined;
  const folder = join(root, 'sfm');
  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(join(folder, key)));
      } catch {
        return undefined;
      }
    },
    async set(key, bytes) {
      try {
        await mkdir(folder, { recursive: true });
        const tmp = join(folder, `${key}.${process.pid}.tmp`);
        await writeFile(tmp, bytes);
        await rename(tmp, join(folder, key));
      } catch (e) {
        // A cache that cannot be written costs a later run time, not this run its result.
        if (!warnedCache)
          log(`warning: cannot keep features in ${folder} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); posing goes on without the cache`);
        warnedCache = true;
      }
    },
  };
}
let warnedCache = false;

/** Writes files by relative path below `dir`, making folders as needed. */
export async function writeFiles(files: ReadonlyMap<string, Uint8Array>, dir: string): Promise<void> {
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
}

/** A zip archive on disk as a dataset (its size checked before it is read, its entries before they inflate). */
async function zipFile(file: string, limits: InputLimits): Promise<FileSource> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new DatasetError(file, 'not a regular file');
    size = info.size;
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (size > limits.totalBytes) throw new DatasetError(file, tooManyBytes(`the archive holds ${formatBytes(size)}`, limits));
  return zipSource(new Uint8Array(await readFile(file)), basename(file), limits);
}

/** A model file or a scene file from disk as a field. */
export async function loadModel(ctx: GpuContext, file: string): Promise<{ field: TensorField; bytes: number; info: Record<string, unknown> }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { ...(await fieldFromBytes(ctx, bytes, file)), bytes: bytes.length };
}

/** One piece of the engine's advice in the CLI's terms. */
function cliWords(a: LimitAdvice): string {
  switch (a.change) {
    case 'downscale':
      return `use --downscale ${a.factor}`;
    case 'fewer-views':
      return 'train on fewer images (--train-views N)';
    case 'batch':
      return 'use a smaller --batch';
    case 'final-grid':
      return 'lower N_voxel_final';
    case 'components':
      return 'lower the component counts (n_lamb_sigma, n_lamb_sh)';
  }
}

/** The engine's advice in the CLI's terms. */
export function adviceForCli(advice: readonly LimitAdvice[]): string {
  return advice.map(cliWords).join(' or ');
}
