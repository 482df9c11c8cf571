// A phone video as photos to pose: its frames decoded with WebCodecs through mediabunny (browser
// and worker only; Node has no WebCodecs, so the CLI takes frames ffmpeg extracted), rotated as
// the track's metadata says, audio ignored, timestamps taken as they are (a variable frame rate
// is fine: frames are asked for by time), brought to the working size, and the keyframes chosen
// by sharpness and motion (data/keyframes.ts). Each keyframe is kept as a JPEG named by its time.
import { ALL_FORMATS, BlobSource, CanvasSink, Input } from 'mediabunny';
import { greyOf, keyframeGroups, movedEnough, sharpness } from './keyframes.ts';
import { DatasetError } from './types.ts';

/** File names taken as videos. */
export const VIDEO = /\.(mp4|m4v|mov|webm|mkv)$/i;

/** Candidate frames looked at per keyframe asked for. */
const CANDIDATES_PER_KEYFRAME = 3;
/** Keyframes kept as JPEG at this quality (the photos posing and training read). */
const JPEG_QUALITY = 0.95;

export interface VideoKeyframes {
  /** Keyframe JPEGs by name (frame_<milliseconds>.jpg, so they sort in time order). */
  frames: Map<string, Uint8Array>;
  /** What was done, for the user. */
  notes: string[];
}

export interface VideoOptions {
  /** Keyframes wanted (at most; fewer where the camera stood still or the video is short). */
  target: number;
  /** The working size's long edge (frames are not enlarged). */
  maxSize: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function videoKeyframes(file: Blob, name: string, opts: VideoOptions): Promise<VideoKeyframes> {
  const input = new Input({ source: new BlobSource(file), formats: ALL_FORMATS });
  try {
    const track = await input.getPrimaryVideoTrack().catch((e: unknown) => {
      throw new DatasetError(name, `cannot be read as a video (${why(e)}): a truncated or damaged file?`);
    });
    if (!track) throw new DatasetError(name, 'holds no video track (only audio?): drop a video with a picture, or photos');
    if (!(await track.canDecode())) {
      throw new DatasetError(
        name,
        `this browser cannot decode its ${track.codec ?? 'unknown'} video (Chromium on Linux decodes HEVC only with a hardware decoder). ` +
          `Convert it to H.264 (ffmpeg -i "${name}" -c:v libx264 -crf 18 out.mp4) or extract its frames (ffmpeg -i "${name}" -vf fps=3 -q:v 2 frames/%05d.jpg) and drop those`,
      );
    }
    const [start, end, stats] = await Promise.all([track.getFirstTimestamp(), track.computeDuration(), track.computePacketStats(200)]).catch((e: unknown) => {
      throw new DatasetError(name, `cannot be read as a video (${why(e)}): a truncated or damaged file?`);
    });
    const seconds = end - start;
    const frameCount = Math.max(1, Math.round(seconds * stats.averagePacketRate));
    const candidates = Math.min(frameCount, CANDIDATES_PER_KEYFRAME * opts.target);
    const scale = Math.min(1, opts.maxSize / Math.max(track.displayWidth, track.displayHeight));
    const width = Math.max(1, Math.round(track.displayWidth * scale));
    const height = Math.max(1, Math.round(track.displayHeight * scale));
    const sink = new CanvasSink(track, { width, height, fit: 'fill', poolSize: 2 });
    const groups = keyframeGroups(candidates, opts.target);
    const times = Array.from({ length: candidates }, (_, i) => start + ((i + 0.5) * seconds) / candidates);
    const frames = new Map<string, Uint8Array>();
    let last: ReturnType<typeof greyOf> | null = null;
    let still = 0;
    let missing = 0;
    let done = 0;
    let group = 0;
    let best: { score: number; rgba: Uint8ClampedArray; time: number } | null = null;
    const close = async (): Promise<void> => {
      if (!best) return;
      const small = greyOf(best.rgba, width, height);
      if (movedEnough(last, small)) {
        last = small;
        const canvas = new OffscreenCanvas(width, height);
        canvas.getContext('2d')!.putImageData(new ImageData(best.rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
        const jpeg = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg', quality: JPEG_QUALITY })).arrayBuffer());
        frames.set(`frame_${String(Math.round(best.time * 1000)).padStart(7, '0')}.jpg`, jpeg);
      } else still++;
      best = null;
    };
    try {
      for await (const wrapped of sink.canvasesAtTimestamps(times)) {
        opts.signal?.throwIfAborted();
        const i = done++;
        opts.onProgress?.(done, candidates);
        if (!wrapped) {
          missing++;
          continue;
        }
        const g = (wrapped.canvas as OffscreenCanvas).getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D;
        const rgba = g.getImageData(0, 0, width, height).data;
        const score = sharpness(greyOf(rgba, width, height, Math.max(width, height)));
        while (group < groups.length && i > groups[group]!.at(-1)!) {
          await close();
          group++;
        }
        if (!best || score > best.score) best = { score, rgba: new Uint8ClampedArray(rgba), time: wrapped.timestamp };
      }
      await close();
    } catch (e) {
      if (e instanceof DatasetError || (e as { name?: string }).name === 'AbortError') throw e;
      throw new DatasetError(name, `cannot be decoded after ${done} of ${candidates} frames (${why(e)}): a truncated or damaged file?`);
    }
    // A file cut short: its index promises frames its data no longer holds.
    if (frames.size < 3) {
      throw new DatasetError(
        name,
        `cannot be posed: ${candidates - missing} of the ${candidates} frames looked at could be decoded, giving ${frames.size} keyframe(s) (a truncated or damaged file?); at least 3 are needed`,
      );
    }
    const notes = [
      `${name}: ${frames.size} keyframes from ${seconds.toFixed(1)} s of ${width}×${height} video (${candidates} of about ${frameCount} frames looked at, ${opts.target} asked for): ` +
        `the sharpest of each stretch${still ? `; ${still} left out as the camera had moved less than 5% of the width since the last` : ''}`,
    ];
    if (missing) notes.push(`${name}: ${missing} of the ${candidates} frames looked at could not be decoded (the file may be cut short)`);
    if (track.rotation) notes.push(`${name}: turned ${track.rotation}° as its metadata says`);
    return { frames, notes };
  } finally {
    input.dispose();
  }
}
