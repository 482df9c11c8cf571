// Dispatch sizes worked out on the GPU. A count that a kernel wrote (the samples a batch kept, the
// samples it shades) becomes the workgroup counts of the dispatches over it, and the row counts in
// their params, so the host need not wait to read it back before recording them. The kernels
// dispatched this way bound their threads by the same count.
import type { GpuContext } from './context.ts';
import { cachedKernel, type DispatchArgs, type Encoder, type Kernel, SIZE_SLOT_BYTES } from './kernel.ts';

/**
 * Rows of a list whose length a kernel left on the GPU (counts[word]): the rows [first, first +
 * max) of it that exist, min(max(count − first, 0), max); none at all unless the count exceeds
 * `above` (work needed only when a list spans several chunks).
 */
export interface GpuRows {
  counts: GPUBuffer;
  word: number;
  first?: number;
  max: number;
  above?: number;
}

/**
 * One invocation writes the sizes of a dispatch over a GpuRows: at `base` (a word index), the
 * workgroups x, y, z of `per_row` threads per row in workgroups of `wg`, times `mult` (folded into
 * a 2-D grid past the per-dimension limit exactly as grid1d folds them; with `lead` > 0 the grid
 * is (lead, groups folded into y and z), the GEMM's), then the rows, the threads, and the
 * workgroups before `mult`.
 */
const sizesWgsl = /* wgsl */ `
struct Params { word: u32, first: u32, max: u32, above: u32, per_row: u32, wg: u32, max_dim: u32, lead: u32, base: u32, mult: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read_write> sizes: array<u32>;
@compute @workgroup_size(1) fn main() {
  let count = counts[params.word];
  var rows = 0u;
  if (count > params.above && count > params.first) { rows = min(count - params.first, params.max); }
  let threads = rows * params.per_row;
  let runs = (threads + params.wg - 1u) / params.wg;
  let groups = runs * params.mult;
  var fold = 1u;
  if (groups > params.max_dim) { fold = (groups + params.max_dim - 1u) / params.max_dim; }
  let b = params.base;
  if (params.lead > 0u) {
    sizes[b] = params.lead;
    sizes[b + 1u] = (groups + fold - 1u) / fold;
    sizes[b + 2u] = fold;
  } else {
    sizes[b] = (groups + fold - 1u) / fold;
    sizes[b + 1u] = fold;
    sizes[b + 2u] = 1u;
  }
  sizes[b + 3u] = rows;
  sizes[b + 4u] = threads;
  sizes[b + 5u] = runs;
}`;

/** How a dispatch over GPU rows is shaped. */
export interface RowsShape {
  /** Workgroup size. */
  wg: number;
  /** Threads per row (1 by default). */
  perRow?: number;
  /** x workgroups of a (lead, rows) grid (the GEMM's column tiles); left out, a 1-D grid. */
  lead?: number;
  /** The workgroups over the rows are repeated this many times (the GEMM's row tiles per K split). */
  mult?: number;
  /** Params field that gets the rows, and one that gets the threads (rows x perRow). */
  rowsField?: string;
  threadsField?: string;
}

/** A buffer for one dispatch's sizes (workgroups x, y, z, then rows and threads), written on the GPU. */
export function dispatchArgsBuffer(ctx: GpuContext, label: string): GPUBuffer {
  return ctx.buffer(label, SIZE_SLOT_BYTES, GPUBufferUsage.INDIRECT);
}

/** Byte offsets in a sizes slot of the rows, the threads and the workgroups before `mult` (after the x, y, z workgroups). */
export const ROWS_AT = 12;
export const THREADS_AT = 16;
export const RUNS_AT = 20;

/**
 * Records the one-thread kernel that writes a dispatch's sizes over `rows` into `out` (default: a
 * new slot of the encoder's) and returns where: workgroups at its start, the rows at ROWS_AT and
 * the threads at THREADS_AT.
 */
export function recordSizes(
  ctx: GpuContext,
  enc: Encoder,
  rows: GpuRows,
  shape: RowsShape,
  out: { buffer: GPUBuffer; offset: number } = enc.sizeSlot(),
): { buffer: GPUBuffer; offset: number } {
  enc.dispatch(
    cachedKernel(ctx, 'dispatchSizes', () => sizesWgsl),
    {
      params: {
        word: rows.word,
        first: rows.first ?? 0,
        max: rows.max,
        above: rows.above ?? 0,
        per_row: shape.perRow ?? 1,
        wg: shape.wg,
        max_dim: ctx.limits.maxComputeWorkgroupsPerDimension,
        lead: shape.lead ?? 0,
        base: out.offset / 4,
        mult: shape.mult ?? 1,
      },
      buffers: { counts: rows.counts, sizes: out.buffer },
      workgroups: [1],
    },
  );
  return out;
}

/**
 * Records the kernel that writes into `args` the workgroups of a 1-D dispatch over
 * min(counts[word], capacity) threads in workgroups of `wg` (zero workgroups for a zero count).
 */
export function recordDispatchArgs(ctx: GpuContext, enc: Encoder, counts: GPUBuffer, word: number, capacity: number, wg: number, args: GPUBuffer): void {
  recordSizes(ctx, enc, { counts, word, max: capacity }, { wg }, { buffer: args, offset: 0 });
}

/**
 * Dispatches `kernel` over rows whose number only the GPU knows: their sizes are written into a
 * slot of the encoder's (Encoder.sizeSlot) by a one-thread kernel, the dispatch reads its
 * workgroups from there, and the params fields the shape names get the rows and the threads.
 */
export function dispatchOverRows(
  ctx: GpuContext,
  enc: Encoder,
  kernel: Kernel,
  args: Omit<DispatchArgs, 'workgroups' | 'patch'>,
  rows: GpuRows,
  shape: RowsShape,
): void {
  const slot = recordSizes(ctx, enc, rows, shape);
  const patch: Record<string, readonly [GPUBuffer, number]> = {};
  if (shape.rowsField) patch[shape.rowsField] = [slot.buffer, slot.offset + ROWS_AT];
  if (shape.threadsField) patch[shape.threadsField] = [slot.buffer, slot.offset + THREADS_AT];
  enc.dispatch(kernel, { ...args, workgroups: { indirect: slot.buffer, offset: slot.offset }, patch });
}
