// Choosing views of a split: evenly spaced indices (the test views an evaluation renders, the
// training views of sparse-view mode) and the split made of them.
import type { Camera, Split } from './types.ts';

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
export function facesForward(cameras: readonly Camera[], maxDegrees = 60): boolean {
  if (cameras.length < 3) return false;
  const f = [0, 0, 0];
  for (const c of cameras) for (let i = 0; i < 3; i++) f[i]! += c.c2w[i * 4 + 2]!;
  const l = Math.hypot(f[0]!, f[1]!, f[2]!);
  if (l === 0) return false;
  const minCos = Math.cos((maxDegrees * Math.PI) / 180);
  return cameras.every((c) => (c.c2w[2]! * f[0]! + c.c2w[6]! * f[1]! + c.c2w[10]! * f[2]!) / l > minCos);
}
