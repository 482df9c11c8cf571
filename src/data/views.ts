// Choosing views of a split: evenly spaced indices (the test views an evaluation renders, the
// training views of sparse-view mode) and the split made of them.
import type { Split } from './types.ts';

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
