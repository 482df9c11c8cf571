// The alpha mask (notes 1.5): an occupancy grid built from the field's density, which sampling
// skips empty space with, whose occupied box the field shrinks to, and against which the training
// rays are filtered (alpha-mask.wgsl.ts).

import { recordDensityLattice } from '../field/density-lattice.ts';
import type { TensorField } from '../field/field.ts';
import type { Box, Vec3 } from '../field/geometry.ts';
import type { AlphaMask } from '../field/settings.ts';
import type { GpuContext } from '../gpu/context.ts';
import { cachedKernel, Encoder, grid1d } from '../gpu/kernel.ts';
import type { TrainingRays } from '../rays/raygen.ts';
import { contractionUniform } from '../rays/sample.ts';
import { maskBuildWgsl, rayFilterWgsl } from './alpha-mask.wgsl.ts';

/** Lattices above this many points reuse the previous mask's dimensions (the reference's 256³ cap). */
const MAX_MASK_POINTS = 256 ** 3;

export interface BuiltMask {
  mask: AlphaMask;
  /** Occupied lattice points (after the 3x3x3 max-pool). */
  occupied: number;
  /** The occupied points' bounding box in world units; null when nothing is occupied. */
  occupiedBox: Box | null;
}

/** The alpha mask of the field's current density on a lattice of its grid (or the previous mask's, for large grids). */
export async function buildAlphaMask(ctx: GpuContext, field: TensorField): Promise<BuiltMask> {
  const g = field.grid;
  const dims: Vec3 = g[0] * g[1] * g[2] < MAX_MASK_POINTS ? [...g] : (field.mask?.dims ?? [...g]);
  const n = dims[0] * dims[1] * dims[2];
  const alpha = ctx.buffer('mask.alpha', n * 4);
  const bits = ctx.buffer('mask.bitsBuild', Math.ceil(n / 32) * 4);
  const bbox = ctx.upload('mask.bbox', new Uint32Array([0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 0, 0]));
  const enc = new Encoder(ctx);
  recordDensityLattice(enc, field, dims, alpha);
  enc.dispatch(
    cachedKernel(ctx, 'maskBuild', () => maskBuildWgsl),
    {
      params: { dims: [...dims, 0], thres: field.settings.alphaMaskThres },
      buffers: { alpha, bits, bbox },
      workgroups: grid1d(ctx, n, 64),
    },
  );
  enc.submit();
  // Exactly the words the dims need: the buffer is rounded up to 16 bytes, and files size the mask from its dims.
  const [maskBits, bb] = await Promise.all([ctx.readU32(bits, Math.ceil(n / 32)), ctx.readU32(bbox)]);
  for (const b of [alpha, bits, bbox]) ctx.destroy(b);
  const box: Box = { lo: [...field.box.lo], hi: [...field.box.hi] };
  const occupied = bb[6]!;
  const at = (a: number, i: number) => box.lo[a]! + (i * (box.hi[a]! - box.lo[a]!)) / (dims[a]! - 1);
  return {
    mask: { dims, box, bits: maskBits },
    occupied,
    occupiedBox: occupied > 0 ? { lo: [at(0, bb[0]!), at(1, bb[1]!), at(2, bb[2]!)], hi: [at(0, bb[3]!), at(1, bb[4]!), at(2, bb[5]!)] } : null,
  };
}

/**
 * Marks the training rays worth drawing and returns their share: 'box' keeps rays that enter the
 * field's box (before training); 'mask' rays whose first 256 unjittered samples touch an occupied
 * mask cell (the reference checks 256). Pixels a capture's mask leaves out are never kept.
 */
export async function filterRays(
  ctx: GpuContext,
  field: TensorField,
  rays: TrainingRays,
  mode: 'box' | 'mask',
  nearFar: [number, number],
  /** The images' alpha is a mask: pixels below one half are never drawn. */
  masked = false,
): Promise<number> {
  const img = rays.images;
  const enc = new Encoder(ctx);
  enc.clear(rays.valid);
  const total = img.pixelCount;
  const chunk = 1 << 22;
  for (let first = 0; first < total; first += chunk) {
    const count = Math.min(chunk, total - first);
    enc.dispatch(
      cachedKernel(ctx, 'rayFilter', () => rayFilterWgsl),
      {
        params: {
          aabb_lo: [...field.box.lo, field.step],
          aabb_hi: [...field.box.hi, 0],
          n_images: img.count,
          first,
          count,
          mode: mode === 'box' ? 0 : 1,
          n_samples: 256,
          near: nearFar[0],
          far: nearFar[1],
          masked: masked ? 1 : 0,
          mask: field.maskUniform(),
          contraction: contractionUniform(field.settings),
        },
        buffers: { cams: rays.cams, mask_bits: field.maskBuffer, valid: rays.valid, pixels: img.pixels, views: img.views },
        workgroups: grid1d(ctx, count, 64),
      },
    );
  }
  enc.submit();
  const bits = await ctx.readU32(rays.valid);
  let kept = 0;
  for (const w of bits) kept += popcount(w);
  rays.filtered = true;
  return kept / total;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
