// The surface of a trained field, the one source of every geometric export (mesh, points,
// splats): the opacity on a lattice over the model's box (the inner box of a contracted scene),
// marching cubes at a level, and a colour per vertex from the field itself, rendered looking at
// the surface straight down its normal.

import { readDensityLattice } from '../field/density-lattice.ts';
import type { TensorField } from '../field/field.ts';
import type { Box, Vec3 } from '../field/geometry.ts';
import { componentsAtRank } from '../field/rank.ts';
import type { ViewRenderer } from '../render/view-renderer.ts';
import { marchingCubes } from './marching-cubes.ts';
import { simplifyMesh } from './simplify.ts';

/** TensoRF's mesh export level: the opacity of one step through the field (its export_mesh). */
export const DEFAULT_LEVEL = 0.005;
/** Lattice points along the box's longest side, by default. */
export const DEFAULT_RESOLUTION = 256;

export interface SurfaceOptions {
  /** Lattice points along the longest side of the box (the others in proportion). */
  resolution: number;
  /** The opacity the surface is drawn at. */
  level: number;
  /** Rank groups kept (the slider's); the trained rank when absent. */
  rank?: number;
  /** The share of the triangles to keep (meshoptimizer's simplifier); all when absent or 1. */
  simplify?: number;
  signal?: AbortSignal;
  /** What is being done, and the share of the whole done. */
  onProgress?: (what: string, fraction: number) => void;
}

export interface Surface {
  /** xyz per vertex, world units (the dataset's frame, z up). */
  positions: Float32Array;
  normals: Float32Array;
  /** RGB8 per vertex. */
  colors: Uint8Array;
  indices: Uint32Array;
  /** The lattice's spacing per axis, world units: how large a surface element is. */
  spacing: Vec3;
  /** The box the lattice spanned. */
  box: Box;
}

/** The lattice dimensions for `resolution` points along the box's longest side. */
export function latticeDims(box: Box, resolution: number): Vec3 {
  const size = [0, 1, 2].map((a) => box.hi[a]! - box.lo[a]!);
  const longest = Math.max(...size);
  return size.map((s) => Math.max(2, Math.round(((resolution - 1) * s) / longest) + 1)) as Vec3;
}

/** The region a surface is extracted from: the field's box, within the inner box of a contracted field (world space there). */
export function surfaceRegion(field: TensorField): Box {
  const inner = field.settings.contraction;
  if (!inner) return field.box;
  return {
    lo: [0, 1, 2].map((a) => Math.max(inner.lo[a]!, field.box.lo[a]!)) as Vec3,
    hi: [0, 1, 2].map((a) => Math.min(inner.hi[a]!, field.box.hi[a]!)) as Vec3,
  };
}

/** The field's surface at `opt.level`, coloured by the field at `opt.rank`. */
export async function extractSurface(field: TensorField, renderer: ViewRenderer, opt: SurfaceOptions): Promise<Surface> {
  const progress = opt.onProgress ?? (() => {});
  const box = surfaceRegion(field);
  const dims = latticeDims(box, opt.resolution);
  const comps = opt.rank === undefined ? undefined : componentsAtRank(field.settings, Math.min(opt.rank, field.rank));
  progress(`opacity on a ${dims.join('×')} lattice`, 0);
  const alpha = await readDensityLattice(field.ctx, field, dims, box, comps);
  opt.signal?.throwIfAborted();
  const iso = await marchingCubes(alpha, dims, box, opt.level, {
    signal: opt.signal,
    onProgress: (f) => progress('marching cubes', 0.2 + 0.5 * f),
  });
  // Simplified before colouring: fewer vertices to render.
  const mesh = opt.simplify !== undefined && opt.simplify < 1 ? await simplifyMesh(iso, opt.simplify) : iso;
  opt.signal?.throwIfAborted();
  const spacing = [0, 1, 2].map((a) => (box.hi[a]! - box.lo[a]!) / (dims[a]! - 1)) as Vec3;
  const colors = await surfaceColours(renderer, mesh.positions, mesh.normals, Math.max(...spacing), opt, (f) => progress('colours', 0.7 + 0.3 * f));
  progress('done', 1);
  return { ...mesh, colors, spacing, box };
}

/** Vertices coloured at a time: each is a ray, and the page gets the GPU back between blocks. */
const COLOUR_BLOCK = 1 << 16;

/**
 * Each vertex's colour as the field shows it seen straight down the normal from two lattice
 * spacings outside: the colour of an orthographic render of that spot, un-premultiplied by its
 * opacity, so a surface element facing the viewer gets the colour a photo of it would have.
 */
async function surfaceColours(
  renderer: ViewRenderer,
  positions: Float32Array,
  normals: Float32Array,
  spacing: number,
  opt: SurfaceOptions,
  progress: (fraction: number) => void,
): Promise<Uint8Array> {
  const n = positions.length / 3;
  const colors = new Uint8Array(n * 3);
  for (let first = 0; first < n; first += COLOUR_BLOCK) {
    const count = Math.min(COLOUR_BLOCK, n - first);
    const origins = new Float32Array(count * 3);
    const dirs = new Float32Array(count * 3);
    for (let i = 0; i < count * 3; i++) {
      const nv = normals[first * 3 + i]!;
      origins[i] = positions[first * 3 + i]! + 2 * spacing * nv;
      dirs[i] = -nv;
    }
    const { rgb, acc } = await renderer.renderRays(origins, dirs, 0, [0, 4 * spacing], opt.rank);
    for (let i = 0; i < count; i++) {
      const a = Math.max(acc[i]!, 1e-3);
      for (let c = 0; c < 3; c++) colors[(first + i) * 3 + c] = Math.round(255 * Math.min(1, rgb[i * 3 + c]! / a));
    }
    opt.signal?.throwIfAborted();
    progress((first + count) / n);
  }
  return colors;
}
