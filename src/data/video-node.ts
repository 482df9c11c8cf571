// A video's keyframes in Node (the CLI): Node has no WebCodecs, so ffmpeg decodes it where it is
// installed. ffprobe reads the stream's size, rotation, length and frame count; ffmpeg turns the
// picture as the metadata says (its default), scales it to the working size and pipes the candidate
// frames as raw RGBA, one at a time, so memory holds a frame and each stretch's sharpest, never the
// video. The keyframes are chosen exactly as the studio chooses them (keyframes.ts) and kept as
// JPEG named by their time, as the studio keeps them.
import { spawn, spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import jpeg from 'jpeg-js';
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

/** Whether ffmpeg and ffprobe are on the PATH. */
export function hasFfmpeg(): boolean {
  return ['ffmpeg', 'ffprobe'].every((tool) => spawnSync(tool, ['-version'], { stdio: 'ignore' }).status === 0);
}

interface Probe {
  width: number;
  height: number;
  rotation: number;
  seconds: number;
  frameCount: number;
  codec: string;
}

/** The last non-empty line of a tool's stderr: what went wrong, without its banner. */
const lastLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .at(-1)
    ?.trim() ?? 'no message';

function probe(path: string, name: string): Probe {
  const r = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,width,height,nb_frames,avg_frame_rate,duration:stream_side_data=rotation:format=duration',
      '-of',
      'json',
      path,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new DatasetError(name, `cannot be read as a video (ffprobe: ${lastLine(r.stderr)}): a truncated or damaged file?`);
  const info = JSON.parse(r.stdout) as {
    streams?: {
      codec_name?: string;
      width?: number;
      height?: number;
      nb_frames?: string;
      avg_frame_rate?: string;
      duration?: string;
      side_data_list?: { rotation?: number }[];
    }[];
    format?: { duration?: string };
  };
  const s = info.streams?.[0];
  if (!s) throw new DatasetError(name, 'holds no video track (only audio?): give a video with a picture, or photos');
  const seconds = Number(s.duration ?? info.format?.duration);
  const [num, den] = (s.avg_frame_rate ?? '0/1').split('/').map(Number);
  const rate = den ? num! / den : 0;
  const frameCount = Number(s.nb_frames) || Math.round(seconds * rate);
  if (!(s.width! > 0 && s.height! > 0 && seconds > 0 && frameCount > 0)) {
    throw new DatasetError(
      name,
      `cannot be read as a video (ffprobe gives ${s.width ?? '?'}×${s.height ?? '?'}, ${seconds} s, ${frameCount} frames): a truncated or damaged file?`,
    );
  }
  const rotation = s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0;
  return { width: s.width!, height: s.height!, rotation, seconds, frameCount, codec: s.codec_name ?? 'unknown' };
}

export async function videoKeyframesNode(path: string, opts: VideoOptions): Promise<VideoKeyframes> {
  const name = basename(path);
  const p = probe(path, name);
  // ffmpeg turns the picture before its filters: the displayed size is the turned one.
  const turned = Math.abs(p.rotation) % 180 === 90;
  const [dw, dh] = turned ? [p.height, p.width] : [p.width, p.height];
  const { width, height } = workingSize(dw, dh, opts.maxSize);
  const candidates = candidateCount(p.frameCount, opts.target);
  const rate = candidates / p.seconds;
  const frames = new Map<string, Uint8Array>();
  const chooser = new KeyframeChooser<Candidate & { time: number }>(candidates, opts.target, async (k) => {
    frames.set(
      keyframeName(k.time),
      new Uint8Array(
        jpeg.encode({ data: Buffer.from(k.rgba.buffer, k.rgba.byteOffset, k.rgba.byteLength), width, height }, Math.round(KEYFRAME_JPEG_QUALITY * 100)).data,
      ),
    );
  });
  const ffmpeg = spawn(
    'ffmpeg',
    [
      '-v',
      'error',
      '-nostdin',
      '-i',
      path,
      '-an',
      '-vf',
      `fps=${rate},scale=${width}:${height}:flags=area`,
      '-frames:v',
      String(candidates),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      'pipe:1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  ffmpeg.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    ffmpeg.once('error', reject);
    ffmpeg.once('close', resolve);
  });
  const stop = () => ffmpeg.kill('SIGKILL');
  opts.signal?.addEventListener('abort', stop, { once: true });
  const frameBytes = width * height * 4;
  let done = 0;
  let code: number | null = null;
  try {
    let pending: Buffer = Buffer.alloc(0);
    for await (const chunk of ffmpeg.stdout as AsyncIterable<Buffer>) {
      opts.signal?.throwIfAborted();
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        // A copy: the chooser keeps each stretch's sharpest until the stretch closes.
        const rgba = new Uint8Array(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        const i = done++;
        opts.onProgress?.(done, candidates);
        await chooser.add(i, { rgba, width, height, time: i / rate });
      }
    }
    opts.signal?.throwIfAborted();
    code = await exited;
    // Frames decoded before an error are kept (a file cut short still gives what it holds); none is a refusal.
    if (code !== 0 && done === 0)
      throw new DatasetError(name, `cannot be decoded (ffmpeg: ${lastLine(stderr)}): a truncated or damaged file, or a codec this ffmpeg lacks?`);
    await chooser.finish();
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    stop();
  }
  const notes = keyframeNotes(name, frames.size, {
    seconds: p.seconds,
    width,
    height,
    candidates,
    frameCount: p.frameCount,
    target: opts.target,
    still: chooser.still,
    missing: code === 0 ? 0 : candidates - done,
  });
  if (p.rotation) notes.push(`${name}: turned ${((-p.rotation % 360) + 360) % 360}° as its metadata says (by ffmpeg)`);
  notes.push(`${name}: decoded by ffmpeg (${p.codec})`);
  return { frames, notes };
}
