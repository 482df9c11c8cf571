// The surface of a trained field, the one source of every geometric export (mesh, points,
// splats): the opacity on a lattice over the model's box (the inner box of a contracted scene),
// marching cubes at a level, and a colour per vertex from the field itself, rendered looking at
// the surface straight down its normal.

import { cross, unit } from '../camera/vec3.ts';
import { readDensityLattice } from '../field/density-lattice.ts';
import type { TensorField } from '../field/field.ts';
import { type Box, type SpaceWarp, toField, toWorld, type Vec3 } from '../field/geometry.ts';
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
  /** Also fit degree-1 spherical harmonics to the colour seen from five directions (splats). */
  viewDependent?: boolean;
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
  /** Degree-1 SH per vertex (9, the 3DGS PLY's f_rest order), when asked for. */
  sh1?: Float32Array;
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

/**
 * NDC depth out to which an NDC field's surface is extracted: 0.8 is ten times the near plane's
 * depth. Beyond it NDC's lattice cells grow with the square of the depth, too coarse for a mesh.
 */
export const NDC_SURFACE_DEPTH = 0.8;

/**
 * The region a surface is extracted from, in field space: the field's box, within the inner box of
 * a contracted field (world space there), or an NDC field's box out to NDC_SURFACE_DEPTH.
 */
export function surfaceRegion(field: TensorField): Box {
  if (field.settings.ndc) return { lo: field.box.lo, hi: [field.box.hi[0], field.box.hi[1], Math.min(field.box.hi[2], NDC_SURFACE_DEPTH)] };
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
  const simplified = opt.simplify !== undefined && opt.simplify < 1 ? await simplifyMesh(iso, opt.simplify) : iso;
  opt.signal?.throwIfAborted();
  // An NDC field's lattice is not world space: its vertices go back to the world, with normals
  // mapped as covectors and the median edge as the element size.
  const ndc = field.settings.ndc;
  const mesh = ndc ? meshToWorld(simplified, field.settings) : simplified;
  const spacing = ndc ? medianEdges(mesh) : ([0, 1, 2].map((a) => (box.hi[a]! - box.lo[a]!) / (dims[a]! - 1)) as Vec3);
  const h = Math.max(...spacing);
  const colourShare = opt.viewDependent ? 0.06 : 0.3;
  const colors = await surfaceColours(renderer, mesh.positions, mesh.normals, h, opt, (f) => progress('colours', 0.7 + colourShare * f));
  const sh1 = opt.viewDependent
    ? await surfaceSh1(renderer, mesh.positions, mesh.normals, colors, h, opt, (f) => progress('view-dependent colours', 0.76 + 0.24 * f))
    : undefined;
  progress('done', 1);
  return { ...mesh, colors, ...(sh1 ? { sh1 } : {}), spacing, box };
}

type Mesh = { positions: Float32Array; normals: Float32Array; indices: Uint32Array };

/**
 * A field-space mesh in world space. A level set's normal is a gradient, so it maps as a covector:
 * n_world ∝ Jᵀ n_field with J = ∂field/∂world (by central differences at the world point).
 */
function meshToWorld(mesh: Mesh, warp: SpaceWarp): Mesh {
  const n = mesh.positions.length / 3;
  const positions = new Float32Array(n * 3);
  const normals = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const w = toWorld(warp, mesh.positions.subarray(i * 3, i * 3 + 3));
    positions.set(w, i * 3);
    const eps = 1e-4 * Math.max(1, Math.hypot(...w));
    const nf = mesh.normals.subarray(i * 3, i * 3 + 3);
    const nw = [0, 1, 2].map((a) => {
      const plus = [...w] as Vec3;
      const minus = [...w] as Vec3;
      plus[a] += eps;
      minus[a] -= eps;
      const [fp, fm] = [toField(warp, plus), toField(warp, minus)];
      // Column a of J, dotted with the field normal: row a of Jᵀ n.
      return [0, 1, 2].reduce((sum, k) => sum + ((fp[k]! - fm[k]!) / (2 * eps)) * nf[k]!, 0);
    }) as Vec3;
    normals.set(Math.hypot(...nw) > 0 ? unit(nw) : [0, 0, 1], i * 3);
  }
  return { positions, normals, indices: mesh.indices };
}

/**
 * The median triangle edge length of a mesh, on each axis: its typical surface element (the median,
 * since an NDC surface's far elements are far larger than its near ones).
 */
function medianEdges(mesh: Mesh): Vec3 {
  const q = mesh.positions;
  const lengths = new Float64Array(mesh.indices.length);
  for (let t = 0; t < mesh.indices.length; t += 3) {
    for (let e = 0; e < 3; e++) {
      const a = mesh.indices[t + e]! * 3;
      const b = mesh.indices[t + ((e + 1) % 3)]! * 3;
      lengths[t + e] = Math.hypot(q[a]! - q[b]!, q[a + 1]! - q[b + 1]!, q[a + 2]! - q[b + 2]!);
    }
  }
  lengths.sort();
  const h = lengths.length ? lengths[lengths.length >> 1]! : 1e-3;
  return [h, h, h];
}

/** Vertices coloured at a time: each is a ray, and the page gets the GPU back between blocks. */
const COLOUR_BLOCK = 1 << 16;

/**
 * The field's colour at each vertex seen along `towardEye` (unit, from the vertex to the eye) from
 * two lattice spacings away: an orthographic render of that spot, un-premultiplied by its opacity,
 * so a surface element gets the colour a photo of it from there would have. RGB in [0, 1].
 */
async function coloursFrom(
  renderer: ViewRenderer,
  positions: Float32Array,
  towardEye: Float32Array,
  spacing: number,
  opt: SurfaceOptions,
  progress: (fraction: number) => void,
): Promise<Float32Array> {
  const n = positions.length / 3;
  const out = new Float32Array(n * 3);
  for (let first = 0; first < n; first += COLOUR_BLOCK) {
    const count = Math.min(COLOUR_BLOCK, n - first);
    const origins = new Float32Array(count * 3);
    const dirs = new Float32Array(count * 3);
    for (let i = 0; i < count * 3; i++) {
      const w = towardEye[first * 3 + i]!;
      origins[i] = positions[first * 3 + i]! + 2 * spacing * w;
      dirs[i] = -w;
    }
    const { rgb, acc } = await renderer.renderRays(origins, dirs, 0, [0, 4 * spacing], opt.rank);
    for (let i = 0; i < count; i++) {
      const a = Math.max(acc[i]!, 1e-3);
      for (let c = 0; c < 3; c++) out[(first + i) * 3 + c] = Math.min(1, rgb[i * 3 + c]! / a);
    }
    opt.signal?.throwIfAborted();
    progress((first + count) / n);
  }
  return out;
}

/** Each vertex's colour seen straight down its normal, as RGB8. */
async function surfaceColours(
  renderer: ViewRenderer,
  positions: Float32Array,
  normals: Float32Array,
  spacing: number,
  opt: SurfaceOptions,
  progress: (fraction: number) => void,
): Promise<Uint8Array> {
  const rgb = await coloursFrom(renderer, positions, normals, spacing, opt, progress);
  return Uint8Array.from(rgb, (v) => Math.round(255 * v));
}

/** The degree-0 and degree-1 spherical-harmonic constants of the 3DGS colour model. */
export const SH_C0 = 0.28209479177387814;
export const SH_C1 = 0.4886025119029199;
/** How far the side views lean from the normal. */
const SIDE_ANGLE = Math.PI / 4;

/**
 * Degree-1 spherical harmonics per vertex, fitted to the field's colour seen from five directions:
 * down the normal, and leaning 45° towards each side of it. The view down the normal keeps the
 * vertex colour exactly (the DC term is that colour), and the degree-1 term b·d (d the viewing
 * direction, eye to vertex, as 3DGS evaluates it) is fitted by least squares to how the four side
 * views differ from it, with a slight pull towards zero (the views span only a cone, so a
 * direction they barely see must not swing). Returns the 9 coefficients per vertex in the 3DGS
 * PLY's f_rest order (channel by channel).
 */
async function surfaceSh1(
  renderer: ViewRenderer,
  positions: Float32Array,
  normals: Float32Array,
  straight: Uint8Array,
  spacing: number,
  opt: SurfaceOptions,
  progress: (fraction: number) => void,
): Promise<Float32Array> {
  const n = positions.length / 3;
  const [cos, sin] = [Math.cos(SIDE_ANGLE), Math.sin(SIDE_ANGLE)];
  const sides = [
    [0, 1],
    [0, -1],
    [1, 1],
    [1, -1],
  ] as const;
  // Directions towards the eye per side view; the change of viewing direction from straight down.
  const towards = sides.map(() => new Float32Array(n * 3));
  for (let i = 0; i < n; i++) {
    const nv = [normals[i * 3]!, normals[i * 3 + 1]!, normals[i * 3 + 2]!] as Vec3;
    const t = tangents(nv);
    sides.forEach(([axis, sign], k) => {
      for (let c = 0; c < 3; c++) towards[k]![i * 3 + c] = cos * nv[c]! + sign * sin * t[axis][c]!;
    });
  }
  const seen: Float32Array[] = [];
  for (const [k, w] of towards.entries()) seen.push(await coloursFrom(renderer, positions, w, spacing, opt, (f) => progress((k + f) / towards.length)));
  const sh = new Float32Array(n * 9);
  const ridge = 0.02;
  for (let i = 0; i < n; i++) {
    // Normal equations of (seen − straight) = b·(d − d0), with d = −towards and d0 = −normal.
    const m = Array.from({ length: 3 }, () => new Float64Array(3));
    const rhs = Array.from({ length: 3 }, () => new Float64Array(3));
    for (let k = 0; k < sides.length; k++) {
      const x = [0, 1, 2].map((c) => normals[i * 3 + c]! - towards[k]![i * 3 + c]!);
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) m[r]![c]! += x[r]! * x[c]!;
        for (let ch = 0; ch < 3; ch++) rhs[ch]![r]! += x[r]! * (seen[k]![i * 3 + ch]! - straight[i * 3 + ch]! / 255);
      }
    }
    for (let r = 0; r < 3; r++) m[r]![r]! += ridge;
    for (let ch = 0; ch < 3; ch++) {
      const [bx, by, bz] = solve(m, rhs[ch]!);
      // b·d = C1·(−y·f0 + z·f1 − x·f2)
      sh[i * 9 + ch * 3] = -by! / SH_C1;
      sh[i * 9 + ch * 3 + 1] = bz! / SH_C1;
      sh[i * 9 + ch * 3 + 2] = -bx! / SH_C1;
    }
  }
  return sh;
}

/** Two unit tangents perpendicular to a unit normal and to each other. */
function tangents(nv: Vec3): [Vec3, Vec3] {
  const helper: Vec3 = Math.abs(nv[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0];
  const u = unit(cross(nv, helper));
  return [u, cross(nv, u)];
}

/** Solves a small linear system by Gaussian elimination with partial pivoting. */
function solve(m: Float64Array[], b: Float64Array): number[] {
  const n = b.length;
  const a = m.map((row, r) => [...row, b[r]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= n; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = a[r]![n]!;
    for (let c = r + 1; c < n; c++) v -= a[r]![c]! * x[c]!;
    x[r] = v / a[r]![r]!;
  }
  return x;
}
