// The studio's posing worker: structure from motion on the user's photos (run/photo-poses.ts) in a
// Web Worker with a GPU device of its own, so the page stays responsive while it runs. The photos
// arrive as File objects (cheap to send: a handle, not the bytes) and are read one at a time
// here. Features and matches are kept by content while the studio is open, so a second run
// (photos removed or added) computes only what is new. pose-worker-client.ts drives it.
import * as Comlink from 'comlink';
import { browserInputLimits, type DroppedFile, droppedSource } from '../data/browser-files.ts';
import { decodeImageBrowser } from '../data/image-browser.ts';
import { VIDEO } from '../data/keyframes.ts';
import { placeCapture, placePoints, placePose } from '../data/placement.ts';
import { mapSource } from '../data/sources.ts';
import type { FileSource } from '../data/types.ts';
import { videoKeyframes } from '../data/video.ts';
import { contextFromAdapter, type GpuContext } from '../gpu/context.ts';
import type { PosingSnapshot } from '../sfm/pose-photos.ts';
import { DEFAULT_WORKING_SIZE, type PhotoPoses, type PhotoPosingEvent, posePhotoSource } from './photo-poses.ts';

/** A posing event as it crosses to the page: the model's snapshot taken, not a function. */
export type PoseWorkerEvent =
  | Exclude<PhotoPosingEvent, { stage: 'bundle' }>
  | (Omit<Extract<PhotoPosingEvent, { stage: 'bundle' }>, 'snapshot'> & { snapshot?: PosingSnapshot })
  | { stage: 'keyframes'; done: number; total: number };

export interface PoseWorkerOptions {
  /** The working size's long edge, pixels. */
  maxSize?: number;
  /** The field of view (degrees across the long edge) of photos without EXIF, instead of searching. */
  fieldOfViewDeg?: number;
  /** Keyframes to take from a video (the studio's default: DEFAULT_KEYFRAMES, data/keyframes.ts). */
  keyframes: number;
}

export interface PoseWorkerResult {
  label: string;
  summary: PhotoPoses['summary'];
  /** The capture's cameras and model (transforms.json, sparse/0): the photos themselves stay the user's files. */
  files: Map<string, Uint8Array>;
  notes: string[];
  photoFiles: PhotoPoses['photoFiles'];
  /** The final model, as the live view draws it. */
  snapshot: PosingSnapshot | null;
}

/** Seconds between snapshots of the model sent to the page (each is a copy of every camera and point). */
const SNAPSHOT_SECONDS = 0.25;

let ctx: GpuContext | null = null;
const stored = new Map<string, Uint8Array>();
const cache = { get: async (k: string) => stored.get(k), set: async (k: string, v: Uint8Array) => void stored.set(k, v) };
let running: AbortController | null = null;

async function device(): Promise<GpuContext> {
  if (ctx && !ctx.lost) return ctx;
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('This browser offers no WebGPU adapter to a worker: structure from motion cannot run here.');
  ctx = await contextFromAdapter(adapter);
  return ctx;
}

/**
 * The snapshot in the world training will see (data/placement.ts: the cameras' mean up +z, the
 * points' robust box within [-1.5, 1.5]), so the live view stands upright rather than in the
 * first photo's frame.
 */
function upright(s: PosingSnapshot): PosingSnapshot {
  const pl = placeCapture(
    s.cameras.map((c) => c.c2w),
    s.xyz,
    false,
  );
  return { cameras: s.cameras.map((c) => ({ ...c, c2w: placePose(pl, c.c2w) })), xyz: Float64Array.from(placePoints(pl, s.xyz)) };
}

const api = {
  async pose(files: (File | DroppedFile)[], opts: PoseWorkerOptions, onEvent: (e: PoseWorkerEvent) => void): Promise<PoseWorkerResult> {
    running?.abort();
    const job = new AbortController();
    running = job;
    const limits = browserInputLimits();
    const maxSize = opts.maxSize ?? DEFAULT_WORKING_SIZE;
    // A video: its keyframes are the photos, in order; they travel in the capture (the video stays the user's).
    const one = files.length === 1 ? ('file' in files[0]! ? files[0]!.file : files[0]!) : null;
    const video = one && VIDEO.test(one.name) ? one : null;
    const notes: string[] = [];
    let source: FileSource;
    let label: string;
    if (video) {
      const keyframes = await videoKeyframes(video, video.name, {
        target: opts.keyframes,
        maxSize,
        signal: job.signal,
        onProgress: (done, total) => onEvent({ stage: 'keyframes', done, total }),
      });
      notes.push(...keyframes.notes);
      label = video.name;
      source = mapSource(keyframes.frames, label);
    } else ({ source, label } = await droppedSource(files, limits));
    let last = 0;
    let latest: (() => PosingSnapshot) | undefined;
    const poses = await posePhotoSource(await device(), source, {
      decode: decodeImageBrowser,
      limits,
      maxSize,
      fieldOfViewDeg: opts.fieldOfViewDeg,
      cache,
      withPhotos: video !== null,
      ordered: video !== null,
      signal: job.signal,
      onEvent: (e) => {
        if (e.stage !== 'bundle') return onEvent(e);
        const { snapshot, ...rest } = e;
        latest = snapshot;
        const now = performance.now() / 1000;
        // The last adjustment (every photo tried) always draws.
        const due = now - last >= SNAPSHOT_SECONDS || e.registered === e.total;
        if (due) last = now;
        onEvent(due && snapshot ? { ...rest, snapshot: upright(snapshot()) } : rest);
      },
    });
    return {
      label,
      summary: poses.summary,
      files: poses.capture.files,
      notes: [...notes, ...poses.capture.notes],
      // A video's keyframes are in the capture itself; photos stay the user's files.
      photoFiles: video ? [] : poses.photoFiles,
      snapshot: latest ? upright(latest()) : null,
    };
  },
  /** Stops the run going on at its next check (within a second); its promise rejects with an AbortError. */
  cancel(): void {
    running?.abort(new DOMException('Posing was cancelled.', 'AbortError'));
  },
};

export type PoseWorkerApi = typeof api;

Comlink.expose(api);
