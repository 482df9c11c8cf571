// A phone video as photos to pose: its frames decoded with WebCodecs through mediabunny (browser
// and worker only; Node has no WebCodecs, so the CLI takes frames ffmpeg extracted), rotated as
// the track's metadata says, audio ignored, timestamps taken as they are (a variable frame rate
// is fine: frames are asked for by time), brought to the working size, and the keyframes chosen
// by sharpness and motion (data/keyframes.ts). Each keyframe is kept as a JPEG named by its time.
import { ALL_FORMATS, BlobSource, CanvasSink, Input } from 'mediabunny';
import {
  type Candidate,
  candidateCount,
  KEYFRAME_JPEG_QUALITY,
  KeyframeChooser,
  keyframeName,
  keyframeNotes,
  type VideoKeyframes,
  type VideoOptions,
  workingSize,
} from './keyframes.ts';
import { DatasetError } from './types.ts';

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
    const candidates = candidateCount(frameCount, opts.target);
    const { width, height } = workingSize(track.displayWidth, track.displayHeight, opts.maxSize);
    const sink = new CanvasSink(track, { width, height, fit: 'fill', poolSize: 2 });
    const times = Array.from({ length: candidates }, (_, i) => start + ((i + 0.5) * seconds) / candidates);
    const frames = new Map<string, Uint8Array>();
    const chooser = new KeyframeChooser<Candidate & { time: number }>(candidates, opts.target, async (k) => {
      const canvas = new OffscreenCanvas(width, height);
      canvas.getContext('2d')!.putImageData(new ImageData(k.rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
      frames.set(
        keyframeName(k.time),
        new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg', quality: KEYFRAME_JPEG_QUALITY })).arrayBuffer()),
      );
    });
    let missing = 0;
    let done = 0;
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
        // A copy: the sink reuses its canvases.
        const rgba = new Uint8ClampedArray(g.getImageData(0, 0, width, height).data);
        await chooser.add(i, { rgba, width, height, time: wrapped.timestamp });
      }
      await chooser.finish();
    } catch (e) {
      if (e instanceof DatasetError || (e as { name?: string }).name === 'AbortError') throw e;
      throw new DatasetError(name, `cannot be decoded after ${done} of ${candidates} frames (${why(e)}): a truncated or damaged file?`);
    }
    const notes = keyframeNotes(name, frames.size, { seconds, width, height, candidates, frameCount, target: opts.target, still: chooser.still, missing });
    if (track.rotation) notes.push(`${name}: turned ${track.rotation}° as its metadata says`);
    return { frames, notes };
  } finally {
    input.dispose();
  }
}
