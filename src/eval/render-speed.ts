// Render speed of a field at several ranks: milliseconds and megapixels per second for a square
// view from an orbit camera around the box, each rank rendered twice (the first warms pipelines
// and buffers; the second is timed), with the submissions and blocking readbacks it took. Used by
// `npm run bench` and the studio's in-app benchmark.
import { orbitCamera } from '../data/procedural.ts';
import type { TensorField } from '../field/field.ts';
import { boxCentre, boxSize } from '../field/geometry.ts';
import type { GpuContext } from '../gpu/context.ts';
import { ViewRenderer } from '../render/view-renderer.ts';

export interface RenderSpeedRow {
  rank: number;
  size: number;
  ms: number;
  megapixelsPerSecond: number;
  submissions: number;
  readbacks: number;
}

/** Times a `size`×`size` render of `field` at each of `ranks` (those above the field's rank are skipped). */
export async function renderSpeed(ctx: GpuContext, field: TensorField, ranks: number[], size: number): Promise<RenderSpeedRow[]> {
  const extent = Math.max(...boxSize(field.box));
  const cam = orbitCamera(0.6, 0.5, size, 40, 1.6 * extent, boxCentre(field.box));
  const renderer = new ViewRenderer(ctx, field, [0, 1e6]);
  const rows: RenderSpeedRow[] = [];
  try {
    for (const rank of ranks.filter((r) => r <= field.rank)) {
      await renderer.render(cam, 1, rank);
      const before = { ...ctx.counts };
      const t0 = performance.now();
      await renderer.render(cam, 1, rank);
      const ms = performance.now() - t0;
      rows.push({
        rank,
        size,
        ms: Math.round(ms),
        megapixelsPerSecond: Number(((size * size) / 1e6 / (ms / 1000)).toFixed(3)),
        submissions: ctx.counts.submissions - before.submissions,
        readbacks: ctx.counts.readbacks - before.readbacks,
      });
    }
  } finally {
    renderer.destroy();
  }
  return rows;
}
