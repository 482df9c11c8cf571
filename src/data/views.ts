// Choosing views of a split: evenly spaced indices (the test views an evaluation renders, the
// training views of sparse-view mode) and the split made of them.

import { cross, dot, unit, type V3 } from '../camera/vec3.ts';
import type { PosedView, Split } from './types.ts';

/** Evenly spaced view indices: 0, s, 2s, ... with s = floor(count / n). */
export function evenlySpacedViews(count: number, n: number): number[] {
  const m = Math.max(1, Math.min(n, count));
  const s = Math.max(1, Math.floor(count / m));
  return Array.from({ length: m }, (_, i) => i * s).filter((i) => i < count);
}

/** Up to `max` items evenly spaced over the list, always including the first. */
export function pickEvenly<T>(items: T[], max: number | undefined): T[] {
  if (max === undefined || items.length <= max) return items;
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)]!);
}

/** The views at evenlySpacedViews(count, n) of a split: sparse-view training. */
export function subsetViews(split: Split, n: number): Split {
  const idx = evenlySpacedViews(split.cameras.length, n);
  return { ...split, cameras: idx.map((i) => split.cameras[i]!), images: idx.map((i) => split.images[i]!), names: idx.map((i) => split.names[i]!) };
}

/**
 * Whether a capture faces forward: every camera looks within `maxDegrees` of the mean view
 * direction (60° by default: its video path is a spiral, not an orbit; train/scene-frame.ts asks
 * for 30° before it trains in NDC, as LLFF's captures are).
 */
export function facesForward(cameras: readonly PosedView[], maxDegrees = 60): boolean {
  if (cameras.length < 3) return false;
  const f = [0, 0, 0];
  for (const c of cameras) for (let i = 0; i < 3; i++) f[i]! += c.c2w[i * 4 + 2]!;
  const l = Math.hypot(f[0]!, f[1]!, f[2]!);
  if (l === 0) return false;
  const minCos = Math.cos((maxDegrees * Math.PI) / 180);
  return cameras.every((c) => (c.c2w[2]! * f[0]! + c.c2w[6]! * f[1]! + c.c2w[10]! * f[2]!) / l > minCos);
}

/**
 * The capture's mean camera (TensoRF's average pose for LLFF): the cameras' mean centre, the unit
 * mean view direction, the mean right direction made orthogonal to it, and down = forward × right
 * (OpenCV axes).
 */
export function meanCamera(cameras: readonly PosedView[]): { centre: V3; right: V3; down: V3; forward: V3 } {
  const mean = (col: number): V3 => {
    const s: V3 = [0, 0, 0];
    for (const c of cameras) for (let r = 0; r < 3; r++) s[r] += c.c2w[r * 4 + col]! / cameras.length;
    return s;
  };
  const forward = unit(mean(2));
  const x = mean(0);
  const right = unit([0, 1, 2].map((r) => x[r]! - dot(x, forward) * forward[r]!) as V3);
  return { centre: mean(3), right, down: cross(forward, right), forward };
}
