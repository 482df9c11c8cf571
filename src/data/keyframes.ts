// Which frames of a video to pose: the sharpest of each stretch, taken when the camera has moved
// enough since the last one. Pure TypeScript on small grey images, so it runs wherever the frames
// are decoded (the studio's worker through WebCodecs, data/video.ts) and is tested in Node.
//
// The video's candidate frames are split into `target` consecutive groups; in each, the sharpest
// frame (the variance of its Laplacian, the usual blur measure: motion blur and defocus flatten
// it) is the group's pick. A pick becomes a keyframe when it is the first, or when the median
// shift of image patches since the last keyframe is at least MIN_MOTION of the image's width
// (a camera standing still adds views that say nothing new and slow matching).

import { DatasetError } from './types.ts';

/** File names taken as videos. */
export const VIDEO = /\.(mp4|m4v|mov|webm|mkv)$/i;

/** Keyframes taken from a video unless the user asks for another count (the studio's box, the CLI's --keyframes). */
export const DEFAULT_KEYFRAMES = 100;

/** Keyframes are kept as JPEG at this quality (0–1), in the studio and the CLI alike: the photos posing and training read. */
export const KEYFRAME_JPEG_QUALITY = 0.95;

/** A video's frame size brought to the working size: the long edge at most `maxSize` (frames are not enlarged). */
export function workingSize(width: number, height: number, maxSize: number): { width: number; height: number } {
  const scale = Math.min(1, maxSize / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Candidate frames looked at per keyframe asked for. */
const CANDIDATES_PER_KEYFRAME = 3;

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

/** The candidate frames to look at for `target` keyframes in a video of about `frameCount` frames. */
export const candidateCount = (frameCount: number, target: number): number => Math.max(1, Math.min(frameCount, CANDIDATES_PER_KEYFRAME * target));

/** A keyframe's file name from its time in the video (seconds): milliseconds, zero-padded so names sort in time order. */
export const keyframeName = (seconds: number): string => `frame_${String(Math.round(seconds * 1000)).padStart(7, '0')}.jpg`;

/**
 * What was done, for the user; refused where fewer than 3 keyframes came out (a file cut short: its
 * index promises frames its data no longer holds).
 */
export function keyframeNotes(
  name: string,
  keyframes: number,
  v: { seconds: number; width: number; height: number; candidates: number; frameCount: number; target: number; still: number; missing: number },
): string[] {
  if (keyframes < 3) {
    throw new DatasetError(
      name,
      `cannot be posed: ${v.candidates - v.missing} of the ${v.candidates} frames looked at could be decoded, giving ${keyframes} keyframe(s) (a truncated or damaged file?); at least 3 are needed`,
    );
  }
  const notes = [
    `${name}: ${keyframes} keyframes from ${v.seconds.toFixed(1)} s of ${v.width}×${v.height} video (${v.candidates} of about ${v.frameCount} frames looked at, ${v.target} asked for): ` +
      `the sharpest of each stretch${v.still ? `; ${v.still} left out as the camera had moved less than 5% of the width since the last` : ''}`,
  ];
  if (v.missing) notes.push(`${name}: ${v.missing} of the ${v.candidates} frames looked at could not be decoded (the file may be cut short)`);
  return notes;
}

/** A keyframe needs at least this median patch shift since the last one, as a share of the width. */
export const MIN_MOTION = 0.05;
/** The long edge of the grey images the measures work on (pixels). */
export const MEASURE_SIZE = 96;

export interface Grey {
  width: number;
  height: number;
  data: Float32Array;
}

/** A frame's RGBA as a grey image whose long edge is at most `longEdge` (box-averaged by a whole factor; never enlarged). */
export function greyOf(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, longEdge = MEASURE_SIZE): Grey {
  const k = Math.max(1, Math.ceil(Math.max(width, height) / longEdge));
  const w = Math.floor(width / k);
  const h = Math.floor(height / k);
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = 0; dy < k; dy++)
        for (let dx = 0; dx < k; dx++) {
          const i = ((y * k + dy) * width + x * k + dx) * 4;
          s += 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
        }
      data[y * w + x] = s / (k * k);
    }
  return { width: w, height: h, data };
}

/**
 * Sharpness: the variance of the 4-neighbour Laplacian over the image's interior. Measured on
 * the grey at the working size (not the small one of the motion measure): blur of a pixel or two must show.
 */
export function sharpness(g: Grey): number {
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let y = 1; y + 1 < g.height; y++)
    for (let x = 1; x + 1 < g.width; x++) {
      const i = y * g.width + x;
      const l = g.data[i - 1]! + g.data[i + 1]! + g.data[i - g.width]! + g.data[i + g.width]! - 4 * g.data[i]!;
      sum += l;
      sum2 += l * l;
      n++;
    }
  return n > 0 ? sum2 / n - (sum / n) ** 2 : 0;
}

/** Patches per side of the motion grid, their side (pixels of the small grey) and the search radius (a share of the width). */
const GRID = 5;
const PATCH = 8;
const SEARCH = 0.25;

/**
 * How far the picture moved from `a` to `b`: the median, over a grid of textured patches of `a`,
 * of the length of the shift that best matches each in `b` (least mean absolute difference,
 * searched over a quarter of the width each way), as a share of the width; 1 where no patch is
 * textured enough to say (a blank frame: treated as moved, so the sequence is not starved).
 */
export function motion(a: Grey, b: Grey): number {
  const r = Math.max(1, Math.round(SEARCH * a.width));
  const shifts: number[] = [];
  for (let gy = 0; gy < GRID; gy++)
    for (let gx = 0; gx < GRID; gx++) {
      const x0 = Math.round(((gx + 0.5) * a.width) / GRID - PATCH / 2);
      const y0 = Math.round(((gy + 0.5) * a.height) / GRID - PATCH / 2);
      if (x0 < 0 || y0 < 0 || x0 + PATCH > a.width || y0 + PATCH > a.height) continue;
      // Flat patches (sky, a wall) match anywhere: skip them.
      let mean = 0;
      for (let y = 0; y < PATCH; y++) for (let x = 0; x < PATCH; x++) mean += a.data[(y0 + y) * a.width + x0 + x]!;
      mean /= PATCH * PATCH;
      let dev = 0;
      for (let y = 0; y < PATCH; y++) for (let x = 0; x < PATCH; x++) dev += Math.abs(a.data[(y0 + y) * a.width + x0 + x]! - mean);
      if (dev / (PATCH * PATCH) < 4) continue;
      let best = Infinity;
      let bestShift = 0;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          const bx = x0 + dx;
          const by = y0 + dy;
          if (bx < 0 || by < 0 || bx + PATCH > b.width || by + PATCH > b.height) continue;
          let sad = 0;
          for (let y = 0; y < PATCH && sad <= best; y++)
            for (let x = 0; x < PATCH; x++) sad += Math.abs(a.data[(y0 + y) * a.width + x0 + x]! - b.data[(by + y) * b.width + bx + x]!);
          // Ties go to the smaller shift: a still camera reads as still.
          const len = Math.hypot(dx, dy);
          if (sad < best || (sad === best && len < bestShift)) {
            best = sad;
            bestShift = len;
          }
        }
      shifts.push(bestShift);
    }
  if (shifts.length === 0) return 1;
  shifts.sort((x, y) => x - y);
  return shifts[shifts.length >> 1]! / a.width;
}

/** The candidate frames' indices split into `target` consecutive groups (fewer where there are fewer candidates). */
export function keyframeGroups(candidates: number, target: number): number[][] {
  const groups = Math.max(1, Math.min(candidates, target));
  return Array.from({ length: groups }, (_, g) => {
    const from = Math.floor((g * candidates) / groups);
    const to = Math.floor(((g + 1) * candidates) / groups);
    return Array.from({ length: to - from }, (_, i) => from + i);
  });
}

/** The keyframe decision for a group's pick: taken when first, or when it moved at least MIN_MOTION from the last keyframe. */
export const movedEnough = (last: Grey | null, pick: Grey): boolean => last === null || motion(last, pick) >= MIN_MOTION;

/** A candidate frame: its pixels at the working size, and whatever its decoder keeps beside them. */
export interface Candidate {
  rgba: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/**
 * The keyframe choice as the candidates arrive in time order (one decoder at a time, nothing kept
 * but each group's sharpest so far): `add` each, then `finish`; every keyframe goes to `keep` as
 * its group closes. The studio's WebCodecs path (video.ts) and the CLI's ffmpeg path (video-node.ts)
 * both choose through here. A candidate's pixels are kept until its group closes: copy them if the
 * decoder reuses its buffer.
 */
export class KeyframeChooser<C extends Candidate> {
  private readonly groups: number[][];
  private group = 0;
  private best: { score: number; candidate: C } | null = null;
  private last: Grey | null = null;
  /** Group picks left out for too little motion since the last keyframe. */
  still = 0;

  constructor(
    candidates: number,
    target: number,
    private readonly keep: (keyframe: C) => Promise<void>,
  ) {
    this.groups = keyframeGroups(candidates, target);
  }

  /** Candidate `index` (0-based, increasing; gaps are frames that could not be decoded). */
  async add(index: number, candidate: C): Promise<void> {
    while (this.group < this.groups.length && index > this.groups[this.group]!.at(-1)!) {
      await this.close();
      this.group++;
    }
    const { rgba, width, height } = candidate;
    const score = sharpness(greyOf(rgba, width, height, Math.max(width, height)));
    if (!this.best || score > this.best.score) this.best = { score, candidate };
  }

  async finish(): Promise<void> {
    await this.close();
  }

  private async close(): Promise<void> {
    if (!this.best) return;
    const { rgba, width, height } = this.best.candidate;
    const small = greyOf(rgba, width, height);
    if (movedEnough(this.last, small)) {
      this.last = small;
      await this.keep(this.best.candidate);
    } else this.still++;
    this.best = null;
  }
}
