// Marching cubes (Lorensen and Cline, with Bourke's tables) over a lattice of density values: the
// triangles of the surface where the value crosses `level`, with vertices shared between the
// cubes that meet at an edge and normals from the value's gradient. On the CPU: it runs once per
// export, and 256³ lattices take seconds in JS (docs/BENCHMARKS.md); it yields between slices so
// a page stays responsive.
import type { Box, Vec3 } from '../field/geometry.ts';
import { EDGE_TABLE, TRI_TABLE } from './marching-cubes-tables.ts';

export interface IsoSurface {
  /** xyz per vertex, in the lattice box's units. */
  positions: Float32Array;
  /** Unit outward normals (down the value's gradient), xyz per vertex. */
  normals: Float32Array;
  /** Three vertex indices per triangle, counter-clockwise seen from outside. */
  indices: Uint32Array;
}

/** The corners of a cube as lattice offsets (Bourke's numbering). */
const CORNERS: readonly Vec3[] = [
  [0, 0, 0],
  [1, 0, 0],
  [1, 1, 0],
  [0, 1, 0],
  [0, 0, 1],
  [1, 0, 1],
  [1, 1, 1],
  [0, 1, 1],
];
/** The corners each of the 12 edges joins. */
const EDGES: readonly [number, number][] = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 0],
  [4, 5],
  [5, 6],
  [6, 7],
  [7, 4],
  [0, 4],
  [1, 5],
  [2, 6],
  [3, 7],
];

/** Options: `signal` cancels (an AbortError), `onProgress` gets the share of slices done. */
export interface MarchOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/**
 * The iso-surface of `values` (x fastest, then y, then z, `dims` points spanning `box` with the
 * corners on its faces) at `level`; the inside is where values exceed the level.
 */
export async function marchingCubes(values: Float32Array, dims: Vec3, box: Box, level: number, opt: MarchOptions = {}): Promise<IsoSurface> {
  const [nx, ny, nz] = dims;
  if (values.length !== nx * ny * nz) throw new Error(`marching cubes: ${values.length} values for a ${dims.join('×')} lattice`);
  const spacing = [0, 1, 2].map((a) => (box.hi[a]! - box.lo[a]!) / Math.max(1, dims[a]! - 1)) as Vec3;
  const at = (x: number, y: number, z: number) => values[(z * ny + y) * nx + x]!;
  // The value's gradient at a lattice point, by central differences (one-sided on the faces).
  const gradient = (x: number, y: number, z: number, out: number[]) => {
    const d = (a: number, lo: number, hi: number, v0: number, v1: number) => (v1 - v0) / ((hi - lo) * spacing[a]!);
    const x0 = Math.max(0, x - 1);
    const x1 = Math.min(nx - 1, x + 1);
    const y0 = Math.max(0, y - 1);
    const y1 = Math.min(ny - 1, y + 1);
    const z0 = Math.max(0, z - 1);
    const z1 = Math.min(nz - 1, z + 1);
    out[0] = x1 > x0 ? d(0, x0, x1, at(x0, y, z), at(x1, y, z)) : 0;
    out[1] = y1 > y0 ? d(1, y0, y1, at(x, y0, z), at(x, y1, z)) : 0;
    out[2] = z1 > z0 ? d(2, z0, z1, at(x, y, z0), at(x, y, z1)) : 0;
  };

  const positions: number[] = [];
  const normals: number[] = [];
  const indices: number[] = [];
  // A vertex per crossed lattice edge, shared by the four cubes around it: keyed by the edge's
  // lower lattice point and its axis.
  const vertexOf = new Map<number, number>();
  const g0 = [0, 0, 0];
  const g1 = [0, 0, 0];
  const edgeVertex = (x: number, y: number, z: number, c0: number, c1: number): number => {
    const p0 = CORNERS[c0]!;
    const p1 = CORNERS[c1]!;
    // The edge from its lower corner, so both cubes that share it name it the same way.
    const [a, b] = p0[0] + p0[1] + p0[2] <= p1[0] + p1[1] + p1[2] ? [p0, p1] : [p1, p0];
    const ax = a[0] + x;
    const ay = a[1] + y;
    const az = a[2] + z;
    const axis = b[0] !== a[0] ? 0 : b[1] !== a[1] ? 1 : 2;
    const key = ((az * ny + ay) * nx + ax) * 3 + axis;
    const known = vertexOf.get(key);
    if (known !== undefined) return known;
    const bx = b[0] + x;
    const by = b[1] + y;
    const bz = b[2] + z;
    const v0 = at(ax, ay, az);
    const v1 = at(bx, by, bz);
    const t = v1 === v0 ? 0.5 : Math.min(1, Math.max(0, (level - v0) / (v1 - v0)));
    const id = positions.length / 3;
    positions.push(box.lo[0] + (ax + t * (bx - ax)) * spacing[0], box.lo[1] + (ay + t * (by - ay)) * spacing[1], box.lo[2] + (az + t * (bz - az)) * spacing[2]);
    gradient(ax, ay, az, g0);
    gradient(bx, by, bz, g1);
    // Outward: down the gradient of a value that is high inside.
    const n = [0, 1, 2].map((i) => -((1 - t) * g0[i]! + t * g1[i]!));
    const len = Math.hypot(n[0]!, n[1]!, n[2]!) || 1;
    normals.push(n[0]! / len, n[1]! / len, n[2]! / len);
    vertexOf.set(key, id);
    return id;
  };

  const edgeIds = new Int32Array(12);
  let lastYield = performance.now();
  for (let z = 0; z < nz - 1; z++) {
    // Only the edges of the last two slices can be shared by later cubes.
    if (z > 1) pruneBelow(vertexOf, (z - 1) * ny * nx * 3);
    for (let y = 0; y < ny - 1; y++) {
      for (let x = 0; x < nx - 1; x++) {
        let cube = 0;
        for (let c = 0; c < 8; c++) {
          const p = CORNERS[c]!;
          if (at(x + p[0], y + p[1], z + p[2]) < level) cube |= 1 << c;
        }
        const crossed = EDGE_TABLE[cube]!;
        if (crossed === 0) continue;
        for (let e = 0; e < 12; e++) if (crossed & (1 << e)) edgeIds[e] = edgeVertex(x, y, z, EDGES[e]![0], EDGES[e]![1]);
        for (let k = cube * 16; TRI_TABLE[k] !== -1; k += 3) {
          // Bourke's triangles wind counter-clockwise seen from the side below the level (outside here).
          indices.push(edgeIds[TRI_TABLE[k]!]!, edgeIds[TRI_TABLE[k + 1]!]!, edgeIds[TRI_TABLE[k + 2]!]!);
        }
      }
    }
    if (performance.now() - lastYield > 30) {
      opt.onProgress?.((z + 1) / (nz - 1));
      await new Promise((r) => setTimeout(r, 0));
      opt.signal?.throwIfAborted();
      lastYield = performance.now();
    }
  }
  opt.onProgress?.(1);
  return { positions: new Float32Array(positions), normals: new Float32Array(normals), indices: new Uint32Array(indices) };
}

/** Drops the edge keys below `key` (slices no later cube touches), so memory follows one slab. */
function pruneBelow(map: Map<number, number>, key: number): void {
  for (const k of map.keys()) {
    if (k < key) map.delete(k);
  }
}
