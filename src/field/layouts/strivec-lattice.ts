// Strivec's local tensors (notes 3.3-3.5) on the host: placing them on per-level lattices around a
// coarse point cloud, finding the tensors that cover a point straight from the lattice (the GPU
// kernels in strivec.wgsl.ts do the same), and the coverage mask that limits sampling to where
// every level has a tensor. Pure TypeScript, shared by training, files, tests and the studio.
import { type Box, gridUnits, type Vec3 } from '../geometry.ts';

/**
 * One level of local tensors: a regular lattice of cubic cells with one tensor at the centre of
 * every occupied cell. Cell (i, j, k) spans origin + [i, i + 1) · spacing per axis.
 */
export interface StrivecLevel {
  origin: Vec3;
  spacing: number;
  dims: Vec3;
  /** Half the side of each tensor's cube (the reference's local_range). */
  halfSize: number;
  /** Occupied cells, i.e. local tensors. */
  tensors: number;
  /**
   * Line samples per cell of the field's grid (absent: 1). The reference's lines are twice as fine
   * as TensoRF's final grid (121 samples over 0.6 against 300³ over 3): the preset rule sets 2.
   */
  samplesPerCell?: number;
}

/** Nearest tensors gathered per level (the reference's max_tensoRF). */
export const STRIVEC_K = 4;

/**
 * A level's lattice table as stored in the parameter arena: one f32 per cell, tensor index + 1,
 * 0 where no tensor sits. f32 holds integers exactly up to 2^24, so a level may have up to 16.7M
 * tensors (the reference's int16 coverage map stops at 32,767).
 */
export function latticeTable(level: StrivecLevel, occupied: Uint8Array | boolean[]): Float32Array {
  const n = level.dims[0] * level.dims[1] * level.dims[2];
  if (occupied.length !== n) throw new Error(`lattice: ${occupied.length} cells given, the level has ${n}`);
  const t = new Float32Array(n);
  let id = 0;
  for (let i = 0; i < n; i++) if (occupied[i]) t[i] = ++id;
  if (id !== level.tensors) throw new Error(`lattice: ${id} occupied cells, the level says ${level.tensors} tensors`);
  return t;
}

/**
 * Lattices for the given cell sizes around a point cloud (notes 3.3): anchored at the cloud's
 * minimum corner, one tensor per cell holding any point. Returns the levels and their tables.
 */
export function placeTensors(
  points: Float32Array,
  spacings: number[],
  halfSizes: number[],
  samplesPerCell = 1,
): { levels: StrivecLevel[]; tables: Float32Array[] } {
  const n = points.length / 3;
  if (n < 1) throw new Error('Strivec: the coarse pass found no occupied space to place tensors around');
  spacings.forEach((v, l) => {
    const h = halfSizes[l]!;
    // The lookup reads two lattice centres per axis: a cube must be narrower than two cells.
    if (!(v > 0) || !(h > 0.5 * v) || !(h < v))
      throw new Error(`Strivec level ${l + 1}: the tensor half-size ${h} must lie between half and one lattice spacing (${v})`);
  });
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a]!, points[i * 3 + a]!);
      hi[a] = Math.max(hi[a]!, points[i * 3 + a]!);
    }
  }
  const levels: StrivecLevel[] = [];
  const tables: Float32Array[] = [];
  spacings.forEach((v, l) => {
    const lattice = { origin: [...lo] as Vec3, spacing: v, dims: [0, 1, 2].map((a) => Math.floor((hi[a]! - lo[a]!) / v) + 1) as Vec3 };
    const occupied = cellsHolding(lattice, points);
    const level: StrivecLevel = {
      ...lattice,
      halfSize: halfSizes[l]!,
      tensors: occupied.reduce((s, x) => s + x, 0),
      ...(samplesPerCell !== 1 ? { samplesPerCell } : {}),
    };
    levels.push(level);
    tables.push(latticeTable(level, occupied));
  });
  return { levels, tables };
}

/** One flag per cell of a lattice: whether any of the points (x, y, z triples) lies in it; points outside the lattice count for none. */
export function cellsHolding(lattice: Pick<StrivecLevel, 'origin' | 'spacing' | 'dims'>, points: Float32Array): Uint8Array {
  const { origin, spacing, dims } = lattice;
  const occupied = new Uint8Array(dims[0] * dims[1] * dims[2]);
  const c = [0, 0, 0];
  for (let i = 0; i < points.length / 3; i++) {
    let inside = true;
    for (let a = 0; a < 3; a++) {
      const f = (points[i * 3 + a]! - origin[a]!) / spacing;
      // (A point on the far face belongs to the last cell, as the cloud's maximum does.)
      inside &&= f >= 0 && f <= dims[a]!;
      c[a] = Math.min(dims[a]! - 1, Math.floor(f));
    }
    if (inside) occupied[(c[2]! * dims[1] + c[1]!) * dims[0] + c[0]!] = 1;
  }
  return occupied;
}

export interface Candidate {
  /** Tensor index within the level. */
  tensor: number;
  /** Point minus tensor centre, in lattice cells per axis (|q| <= halfSize / spacing). */
  local: Vec3;
  /** Euclidean distance to the centre, in lattice cells. */
  distance: number;
}

/**
 * The up to K nearest tensors of a level whose cube contains world point p (notes 3.5, as our
 * suggestion there: from the lattice, nearest to the point). Along each axis only the two
 * lattice centres around p can reach it, because a cube is less than two cells wide.
 */
export function latticeCandidates(level: StrivecLevel, table: ArrayLike<number>, p: Vec3, k = STRIVEC_K): Candidate[] {
  const half = level.halfSize / level.spacing;
  const s = [0, 1, 2].map((a) => (p[a]! - level.origin[a]!) / level.spacing - 0.5);
  const base = s.map(Math.floor);
  const out: Candidate[] = [];
  for (let corner = 0; corner < 8; corner++) {
    const j = [0, 1, 2].map((a) => base[a]! + ((corner >> a) & 1));
    const local = [0, 1, 2].map((a) => s[a]! - j[a]!) as Vec3;
    if (local.some((q, a) => Math.abs(q) > half || j[a]! < 0 || j[a]! >= level.dims[a]!)) continue;
    const id = table[(j[2]! * level.dims[1] + j[1]!) * level.dims[0] + j[0]!]!;
    if (id === 0) continue;
    out.push({ tensor: id - 1, local, distance: Math.hypot(...local) });
  }
  // Stable, so equal distances keep lattice-corner order, as the kernel's insertion does.
  return out.sort((a, b) => a.distance - b.distance).slice(0, k);
}

/** Inverse-distance weights of the candidates, normalised to sum 1 (see docs/ARCHITECTURE.md). */
export function idwWeights(c: Candidate[]): number[] {
  const w = c.map((x) => 1 / (x.distance + 1e-6));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

/** Samples per line of a level's tensors at a sampling grid: the cube side over the grid's mean cell (times samplesPerCell), +1. */
export function levelLineSamples(level: StrivecLevel, box: Box, grid: Vec3): number {
  const u = gridUnits(box, grid);
  return Math.max(1, Math.round((2 * level.halfSize * (level.samplesPerCell ?? 1)) / ((u[0] + u[1] + u[2]) / 3))) + 1;
}

/**
 * Occupancy bits on a lattice of `dims` points spanning `box` (the alpha mask's layout): a point is
 * usable when every level has a tensor covering it (the reference's filterall), dilated by one
 * point as the alpha mask's max-pool is. The first mask of a Strivec field, before its density
 * has been trained.
 */
export function coverageMask(levels: StrivecLevel[], tables: ArrayLike<number>[], box: Box, dims: Vec3): Uint32Array {
  const n = dims[0] * dims[1] * dims[2];
  const covered = new Uint8Array(n);
  const at = (a: number, i: number) => box.lo[a]! + (i * (box.hi[a]! - box.lo[a]!)) / Math.max(1, dims[a]! - 1);
  for (let z = 0; z < dims[2]; z++) {
    for (let y = 0; y < dims[1]; y++) {
      for (let x = 0; x < dims[0]; x++) {
        const p: Vec3 = [at(0, x), at(1, y), at(2, z)];
        if (levels.every((lv, l) => latticeCandidates(lv, tables[l]!, p, 1).length > 0)) covered[(z * dims[1] + y) * dims[0] + x] = 1;
      }
    }
  }
  const bits = new Uint32Array(Math.ceil(n / 32));
  for (let z = 0; z < dims[2]; z++) {
    for (let y = 0; y < dims[1]; y++) {
      for (let x = 0; x < dims[0]; x++) {
        let on = false;
        for (let dz = -1; dz <= 1 && !on; dz++) {
          for (let dy = -1; dy <= 1 && !on; dy++) {
            for (let dx = -1; dx <= 1 && !on; dx++) {
              const xx = x + dx,
                yy = y + dy,
                zz = z + dz;
              if (xx < 0 || yy < 0 || zz < 0 || xx >= dims[0] || yy >= dims[1] || zz >= dims[2]) continue;
              on = covered[(zz * dims[1] + yy) * dims[0] + xx] === 1;
            }
          }
        }
        const i = (z * dims[1] + y) * dims[0] + x;
        if (on) bits[i >> 5]! |= 1 << (i & 31);
      }
    }
  }
  return bits;
}

/** Centres of a level's tensors in tensor order (for drawing them). */
export function tensorCentres(level: StrivecLevel, table: ArrayLike<number>): Float64Array {
  const out = new Float64Array(level.tensors * 3);
  const [dx, dy] = level.dims;
  for (let i = 0; i < table.length; i++) {
    const id = table[i]!;
    if (id === 0) continue;
    const c = [i % dx, Math.floor(i / dx) % dy, Math.floor(i / (dx * dy))];
    for (let a = 0; a < 3; a++) out[(id - 1) * 3 + a] = level.origin[a]! + (c[a]! + 0.5) * level.spacing;
  }
  return out;
}

/** Counts of occupied alpha-mask points in every box of lattice points from the origin (a summed-volume table), for tensorsInMask. */
export interface MaskSums {
  dims: Vec3;
  box: Box;
  /** (dims + 1) per axis: entry (x + 1, y + 1, z + 1) counts the occupied points (≤ x, ≤ y, ≤ z). */
  sums: Uint32Array;
}

export function maskSums(mask: { dims: Vec3; box: Box; bits: ArrayLike<number> }): MaskSums {
  const [dx, dy, dz] = mask.dims;
  const sx = dx + 1;
  const sy = dy + 1;
  const sums = new Uint32Array(sx * sy * (dz + 1));
  for (let z = 0; z < dz; z++) {
    for (let y = 0; y < dy; y++) {
      for (let x = 0; x < dx; x++) {
        const i = (z * dy + y) * dx + x;
        const bit = (mask.bits[i >> 5]! >>> (i & 31)) & 1;
        const at = ((z + 1) * sy + (y + 1)) * sx + (x + 1);
        sums[at] =
          bit +
          sums[at - 1]! +
          sums[at - sx]! +
          sums[at - sx * sy]! -
          sums[at - 1 - sx]! -
          sums[at - 1 - sx * sy]! -
          sums[at - sx - sx * sy]! +
          sums[at - 1 - sx - sx * sy]!;
      }
    }
  }
  return { dims: mask.dims, box: mask.box, sums };
}

/**
 * Which of a level's tensors have an occupied alpha-mask point within their cube or at the mask
 * points just outside it (the mask is itself a sampling, already dilated by a point): one flag per
 * tensor, in tensor order. The others' whole cube is empty space, where no sample will be taken again.
 */
export function tensorsInMask(level: StrivecLevel, table: ArrayLike<number>, m: MaskSums): Uint8Array {
  const keep = new Uint8Array(level.tensors);
  const [dx, dy] = level.dims;
  const sx = m.dims[0] + 1;
  const sy = m.dims[1] + 1;
  const step = [0, 1, 2].map((a) => (m.box.hi[a]! - m.box.lo[a]!) / (m.dims[a]! - 1));
  for (let cell = 0; cell < table.length; cell++) {
    const id = table[cell]!;
    if (!(id > 0)) continue;
    const idx = [cell % dx, Math.floor(cell / dx) % dy, Math.floor(cell / (dx * dy))];
    // Mask points [lo, hi] per axis the widened cube reaches.
    const lo: number[] = [];
    const hi: number[] = [];
    for (let a = 0; a < 3; a++) {
      const c = level.origin[a]! + (idx[a]! + 0.5) * level.spacing;
      lo.push(Math.max(0, Math.floor((c - level.halfSize - m.box.lo[a]!) / step[a]!)));
      hi.push(Math.min(m.dims[a]! - 1, Math.ceil((c + level.halfSize - m.box.lo[a]!) / step[a]!)));
    }
    if (lo.some((v, a) => v > hi[a]!)) continue;
    const S = (x: number, y: number, z: number) => m.sums[(z * sy + y) * sx + x]!;
    const [x0, y0, z0] = lo as [number, number, number];
    const [x1, y1, z1] = (hi as [number, number, number]).map((v) => v + 1);
    const count = S(x1!, y1!, z1!) - S(x0, y1!, z1!) - S(x1!, y0, z1!) - S(x1!, y1!, z0) + S(x0, y0, z1!) + S(x0, y1!, z0) + S(x1!, y0, z0) - S(x0, y0, z0);
    if (count > 0) keep[id - 1] = 1;
  }
  return keep;
}
