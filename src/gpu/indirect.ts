// Dispatch sizes worked out on the GPU. A count that a kernel wrote (the samples a batch kept)
// becomes the workgroup counts of the dispatches over it, so the host need not wait to read it
// back before recording them. The kernels dispatched this way bound their threads by the same
// count, read from the same buffer.
import type { GpuContext } from './context.ts';
import { cachedKernel, type Encoder } from './kernel.ts';

/** Bytes of one set of indirect-dispatch arguments (x, y, z workgroups). */
export const DISPATCH_ARGS_BYTES = 12;

/**
 * One invocation: min(count, capacity) threads in workgroups of `wg`, folded into a 2-D grid past
 * the per-dimension limit exactly as grid1d folds them (kernels index with linear_id).
 */
const dispatchArgsWgsl = /* wgsl */ `
struct Params { word: u32, capacity: u32, wg: u32, max_dim: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read_write> args: array<u32>;
@compute @workgroup_size(1) fn main() {
  let n = min(counts[params.word], params.capacity);
  let groups = (n + params.wg - 1u) / params.wg;
  var y = 1u;
  if (groups > params.max_dim) { y = (groups + params.max_dim - 1u) / params.max_dim; }
  args[0] = (groups + y - 1u) / y;
  args[1] = y;
  args[2] = 1u;
}`;

/** A buffer that indirect dispatches read their workgroup counts from (and kernels may write). */
export function dispatchArgsBuffer(ctx: GpuContext, label: string): GPUBuffer {
  return ctx.buffer(label, DISPATCH_ARGS_BYTES, GPUBufferUsage.INDIRECT);
}

/**
 * Records the kernel that writes into `args` the workgroups of a 1-D dispatch over
 * min(counts[word], capacity) threads in workgroups of `wg` (zero workgroups for a zero count).
 */
export function recordDispatchArgs(ctx: GpuContext, enc: Encoder, counts: GPUBuffer, word: number, capacity: number, wg: number, args: GPUBuffer): void {
  enc.dispatch(
    cachedKernel(ctx, 'dispatchArgs', () => dispatchArgsWgsl),
    {
      params: { word, capacity, wg, max_dim: ctx.limits.maxComputeWorkgroupsPerDimension },
      buffers: { counts, args },
      workgroups: [1],
    },
  );
}
