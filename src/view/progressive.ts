// Progressive rendering's plan, sized by measured frame times rather than fixed pixel caps: an
// interaction frame as large as the target frame rate allows, then refinement passes doubling the
// resolution up to the canvas's full backing size, each cut into tiles that each fit one frame's
// time (so a camera move waits at most about a frame). Pure arithmetic, tested in Node; the canvas
// side is progressive-view.ts.
import type { PosedView } from '../data/types.ts';

export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The smallest side a frame is rendered at (a first frame before any time was measured). */
export const MIN_SIDE = 32;
/** The interaction frame rate aimed at, by default. */
export const TARGET_FPS = 30;
/** The viewport's default share of GPU time while training. */
export const DEFAULT_VIEW_SHARE = 0.25;

/**
 * Renders below this many pixels cost about the same as this many (the renderer's ray batch, and a
 * few GPU round trips per call), so refinement bands are never smaller.
 */
export const MIN_BAND_PIXELS = 4096;
/** How many recent renders the cost model is fitted to. */
const HISTORY = 8;

/**
 * Measured render cost, fitted to the recent renders as a fixed cost per render plus a cost per
 * pixel (least squares): a one-row band and a whole frame tell the two apart, so neither the
 * fixed cost inflates the per-pixel one nor the reverse.
 */
export class FrameTimer {
  private samples: [number, number][] = [];

  constructor(public targetFps = TARGET_FPS) {}

  /** A completed render of `pixels` that took `ms` (GPU queue time, not waiting behind other work). */
  record(pixels: number, ms: number): void {
    if (!(pixels > 0) || !(ms >= 0)) return;
    this.samples.push([pixels, ms]);
    if (this.samples.length > HISTORY) this.samples.shift();
  }

  get frameMs(): number {
    return 1000 / this.targetFps;
  }

  /** [fixed ms per render, ms per pixel]; null before anything was measured. */
  get model(): [number, number] | null {
    const n = this.samples.length;
    if (n === 0) return null;
    const mx = this.samples.reduce((a, [x]) => a + x, 0) / n;
    const my = this.samples.reduce((a, [, y]) => a + y, 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (const [x, y] of this.samples) {
      sxx += (x - mx) * (x - mx);
      sxy += (x - mx) * (y - my);
    }
    // One size only (or a negative slope from noise): all of the cost per pixel.
    const slope = sxx > 0 ? sxy / sxx : 0;
    if (!(slope > 0)) return [0, Math.max(my / mx, 1e-9)];
    const fixed = Math.max(0, my - slope * mx);
    return [fixed, slope];
  }

  /** Pixels one render can do within a frame's time (after its fixed cost; at least one band's worth). */
  get framePixels(): number {
    const m = this.model;
    if (!m) return MIN_SIDE * MIN_SIDE;
    return Math.max(0, this.frameMs - m[0]) / m[1];
  }

  /** Pixels per refinement band: a frame's worth, but never below MIN_BAND_PIXELS. */
  get bandPixels(): number {
    return Math.max(MIN_BAND_PIXELS, this.framePixels);
  }

  /** The interaction frame's side for a square `full` pixels wide: fits one frame, at least MIN_SIDE. */
  interactionSide(full: number): number {
    return Math.max(Math.min(MIN_SIDE, full), Math.min(full, Math.floor(Math.sqrt(this.framePixels))));
  }
}

/** A frame cut into bands of whole rows, each at most `maxPixels` (at least one row). */
export function tilesOf(width: number, height: number, maxPixels: number): Tile[] {
  const rows = Math.max(1, Math.min(height, Math.floor(maxPixels / width)));
  const tiles: Tile[] = [];
  for (let y = 0; y < height; y += rows) tiles.push({ x: 0, y, width, height: Math.min(rows, height - y) });
  return tiles;
}

/** The camera that sees exactly `tile` of `cam`'s image: the same rays, a shifted principal point. */
export function tileCamera(cam: PosedView, tile: Tile): PosedView {
  return { ...cam, width: tile.width, height: tile.height, cx: cam.cx - tile.x, cy: cam.cy - tile.y };
}

/**
 * How long to wait before the next render so that rendering takes at most `share` of the GPU's
 * time: a render of `lastMs` is followed by `lastMs · (1 − share) / share` of other work
 * (training), counted from when it ended.
 */
export function paceDelay(lastMs: number, share: number, sinceEndMs: number): number {
  if (share >= 1 || !(lastMs > 0)) return 0;
  return Math.max(0, (lastMs * (1 - share)) / Math.max(share, 0.01) - sinceEndMs);
}
