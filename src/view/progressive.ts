// Progressive rendering's plan, sized by measured frame times rather than fixed pixel caps: an
// interaction frame as large as the target frame rate allows, then refinement passes doubling the
// resolution up to the canvas's full backing size, each cut into tiles that each fit one frame's
// time (so a camera move waits at most about a frame). Pure arithmetic, tested in Node; the canvas
// side is progressive-view.ts.
import type { Camera } from '../data/types.ts';

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
 * Measured render cost (milliseconds per pixel, a moving average of recent frames) and what it
 * allows within a frame's time.
 */
export class FrameTimer {
  private msPerPixel = Number.NaN;

  constructor(public targetFps = TARGET_FPS) {}

  /** A completed render of `pixels` that took `ms` (GPU queue time, not waiting behind other work). */
  record(pixels: number, ms: number): void {
    if (!(pixels > 0) || !(ms >= 0)) return;
    const m = ms / pixels;
    // Quick to follow: the cost changes with the view (empty sky is cheap) and with training.
    this.msPerPixel = Number.isNaN(this.msPerPixel) ? m : 0.5 * this.msPerPixel + 0.5 * m;
  }

  get frameMs(): number {
    return 1000 / this.targetFps;
  }

  /** Pixels one frame's time renders (unbounded before anything was measured: the caller clamps). */
  get framePixels(): number {
    return Number.isNaN(this.msPerPixel) ? MIN_SIDE * MIN_SIDE : this.frameMs / Math.max(this.msPerPixel, 1e-9);
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
export function tileCamera(cam: Camera, tile: Tile): Camera {
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
