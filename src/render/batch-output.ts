// What a batch of rays gives back per ray, read on the host by name: the colour (clamped), the
// accumulated opacity and the depth sum. The one place that knows the layout of composite.wgsl.ts's
// RayOut struct.
import type { GpuContext } from '../gpu/context.ts';

/** Bytes per ray of the `RayOut` struct: rgb (clamped) + accumulation, raw rgb + depth sum. */
export const RAY_OUT_BYTES = 32;
const FLOATS = RAY_OUT_BYTES / 4;
const ACC = 3;
const DEPTH = 7;

export interface RayOutputs {
  /** Colour per ray, RGB floats in [0, 1]. */
  rgb: Float32Array;
  /** Accumulated opacity A per ray. */
  acc: Float32Array;
  /** Σ w t per ray (divide by acc for the expected depth of what the ray hit). */
  depth: Float32Array;
}

/** Reads the outputs of the first `n` rays of a batch's `output` buffer. */
export async function readRayOutputs(ctx: GpuContext, output: GPUBuffer, n: number): Promise<RayOutputs> {
  return rayOutputsOf(await ctx.readF32(output, n * FLOATS), n);
}

/** The outputs of the first `n` rays in RayOut structs read back. */
export function rayOutputsOf(out: Float32Array, n: number): RayOutputs {
  const rgb = new Float32Array(n * 3);
  const acc = new Float32Array(n);
  const depth = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * FLOATS;
    rgb[i * 3] = out[at]!;
    rgb[i * 3 + 1] = out[at + 1]!;
    rgb[i * 3 + 2] = out[at + 2]!;
    acc[i] = out[at + ACC]!;
    depth[i] = out[at + DEPTH]!;
  }
  return { rgb, acc, depth };
}
