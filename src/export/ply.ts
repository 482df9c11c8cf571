// PLY files (binary little-endian): the coloured mesh and point cloud every 3D tool reads
// (MeshLab, Blender, CloudCompare), and the Gaussian-splat layout of the 3DGS tools (INRIA's
// reference code, SuperSplat, splat-transform, web splat viewers).
import type { Surface } from './surface.ts';

type PlyType = 'float' | 'uchar';
interface Column {
  name: string;
  type: PlyType;
  values: ArrayLike<number>;
}

/** A PLY with one vertex element of `count` rows and, optionally, triangles as vertex index lists. */
function writePly(count: number, columns: Column[], triangles?: Uint32Array, comment = 'Slimfield'): Uint8Array {
  const header = [
    'ply',
    'format binary_little_endian 1.0',
    `comment ${comment}`,
    `element vertex ${count}`,
    ...columns.map((c) => `property ${c.type} ${c.name}`),
    ...(triangles ? [`element face ${triangles.length / 3}`, 'property list uchar uint vertex_indices'] : []),
    'end_header',
    '',
  ].join('\n');
  const head = new TextEncoder().encode(header);
  const rowBytes = columns.reduce((n, c) => n + (c.type === 'float' ? 4 : 1), 0);
  const faceBytes = triangles ? (triangles.length / 3) * 13 : 0;
  const out = new Uint8Array(head.length + count * rowBytes + faceBytes);
  out.set(head);
  const view = new DataView(out.buffer);
  let at = head.length;
  for (let i = 0; i < count; i++) {
    for (const c of columns) {
      if (c.type === 'float') {
        view.setFloat32(at, c.values[i]!, true);
        at += 4;
      } else {
        out[at++] = c.values[i]!;
      }
    }
  }
  if (triangles) {
    for (let t = 0; t < triangles.length; t += 3) {
      out[at++] = 3;
      for (let k = 0; k < 3; k++) {
        view.setUint32(at, triangles[t + k]!, true);
        at += 4;
      }
    }
  }
  return out;
}

/** Every third value of `a` from `offset`: one coordinate of an xyz array. */
function strided(a: ArrayLike<number>, offset: number, stride = 3): Float32Array {
  const out = new Float32Array(a.length / stride);
  for (let i = 0; i < out.length; i++) out[i] = a[i * stride + offset]!;
  return out;
}

function vertexColumns(s: Pick<Surface, 'positions' | 'normals' | 'colors'>): Column[] {
  const f = (name: string, a: ArrayLike<number>, k: number): Column => ({ name, type: 'float', values: strided(a, k) });
  const u = (name: string, k: number): Column => ({ name, type: 'uchar', values: strided(s.colors, k) });
  return [
    f('x', s.positions, 0),
    f('y', s.positions, 1),
    f('z', s.positions, 2),
    f('nx', s.normals, 0),
    f('ny', s.normals, 1),
    f('nz', s.normals, 2),
    u('red', 0),
    u('green', 1),
    u('blue', 2),
  ];
}

/** The surface as a mesh: positions, normals and colours per vertex, triangles. */
export function meshPly(s: Surface): Uint8Array {
  return writePly(s.positions.length / 3, vertexColumns(s), s.indices, 'Slimfield mesh: z up, colours seen down each normal');
}

/** The surface's vertices as a coloured point cloud with normals. */
export function pointsPly(s: Pick<Surface, 'positions' | 'normals' | 'colors'>): Uint8Array {
  return writePly(s.positions.length / 3, vertexColumns(s), undefined, 'Slimfield points: surface points, z up');
}

/** 3D Gaussians in the 3DGS layout: log scales, a unit quaternion (w first), logit opacity, SH DC colour. */
export interface Splats {
  positions: Float32Array;
  /** Natural logarithms of the three standard deviations along the Gaussian's own axes. */
  logScales: Float32Array;
  /** w, x, y, z per Gaussian. */
  rotations: Float32Array;
  /** Before the sigmoid. */
  opacityLogits: Float32Array;
  /** Degree-0 spherical-harmonic coefficients (colour = 0.5 + SH_C0 · dc), rgb per Gaussian. */
  dc: Float32Array;
  /** Degree-1 coefficients, 9 per Gaussian in f_rest order (channel by channel); absent: degree 0. */
  rest?: Float32Array;
}

/** The 3DGS PLY: the property names and order of INRIA's reference code (f_rest only with degree 1). */
export function splatPly(g: Splats): Uint8Array {
  const n = g.positions.length / 3;
  const f = (name: string, a: ArrayLike<number>, k: number, stride = 3): Column => ({ name, type: 'float', values: strided(a, k, stride) });
  const zeros = new Float32Array(n);
  return writePly(
    n,
    [
      f('x', g.positions, 0),
      f('y', g.positions, 1),
      f('z', g.positions, 2),
      { name: 'nx', type: 'float', values: zeros },
      { name: 'ny', type: 'float', values: zeros },
      { name: 'nz', type: 'float', values: zeros },
      f('f_dc_0', g.dc, 0),
      f('f_dc_1', g.dc, 1),
      f('f_dc_2', g.dc, 2),
      ...(g.rest ? Array.from({ length: 9 }, (_, k) => f(`f_rest_${k}`, g.rest!, k, 9)) : []),
      { name: 'opacity', type: 'float', values: g.opacityLogits },
      f('scale_0', g.logScales, 0),
      f('scale_1', g.logScales, 1),
      f('scale_2', g.logScales, 2),
      f('rot_0', g.rotations, 0, 4),
      f('rot_1', g.rotations, 1, 4),
      f('rot_2', g.rotations, 2, 4),
      f('rot_3', g.rotations, 3, 4),
    ],
    undefined,
    'Slimfield splats: one flat Gaussian per surface point, z up',
  );
}
