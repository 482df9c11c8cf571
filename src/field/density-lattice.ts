// The field's opacity on a lattice of points (the densityGrid kernel of field.wgsl.ts): the alpha
// mask's input, where Strivec's coarse pass found surfaces, and the volume meshes are extracted from.
import type { GpuContext } from '../gpu/context.ts';
import { Encoder, grid1d } from '../gpu/kernel.ts';
import type { TensorField } from './field.ts';
import type { Box, Vec3 } from './geometry.ts';
import { fieldKernel } from './kernels.ts';
import type { ComponentCounts } from './settings.ts';

/** Lattice points per dispatch and readback (a 64 MiB f32 buffer at most). */
const SLAB_POINTS = 1 << 24;

/**
 * Records the opacity `1 - exp(-σ · step · distance scale)` at each point of a `dims` lattice
 * spanning `region` (field-space box, default the field's) into `alpha`, x fastest.
 */
export function recordDensityLattice(enc: Encoder, field: TensorField, dims: Vec3, alpha: GPUBuffer, region: Box = field.box, rank?: ComponentCounts): void {
  const ctx = field.ctx;
  const toGrid = (p: readonly number[]) => [0, 1, 2].map((a) => (p[a]! - field.box.lo[a]!) / field.units[a]!);
  enc.dispatch(fieldKernel(ctx, field.settings, 'densityGrid'), {
    params: {
      field: field.fieldUniform(rank),
      dims: [...dims, 0],
      lo: [...toGrid(region.lo), 0],
      hi: [...toGrid(region.hi), 0],
      shift: field.settings.densityShift,
      step: field.step,
    },
    buffers: { params_f: field.arena.params!, alpha },
    workgroups: grid1d(ctx, dims[0] * dims[1] * dims[2], 64),
  });
}

/**
 * The opacities of a `dims` lattice over `region` read back to the host, computed in z slabs so
 * a large lattice never needs one large buffer.
 */
export async function readDensityLattice(
  ctx: GpuContext,
  field: TensorField,
  dims: Vec3,
  region: Box = field.box,
  rank?: ComponentCounts,
): Promise<Float32Array> {
  const [nx, ny, nz] = dims;
  const out = new Float32Array(nx * ny * nz);
  const slab = Math.max(1, Math.floor(SLAB_POINTS / (nx * ny)));
  const zAt = (k: number) => region.lo[2] + (k * (region.hi[2] - region.lo[2])) / Math.max(1, nz - 1);
  const alpha = ctx.buffer('lattice.alpha', Math.min(nz, slab) * nx * ny * 4);
  try {
    for (let z0 = 0; z0 < nz; z0 += slab) {
      const depth = Math.min(slab, nz - z0);
      const part: Box = { lo: [region.lo[0], region.lo[1], zAt(z0)], hi: [region.hi[0], region.hi[1], zAt(z0 + depth - 1)] };
      const enc = new Encoder(ctx);
      recordDensityLattice(enc, field, [nx, ny, depth], alpha, part, rank);
      enc.submit();
      out.set(await ctx.readF32(alpha, nx * ny * depth), z0 * nx * ny);
    }
  } finally {
    ctx.destroy(alpha);
  }
  return out;
}
