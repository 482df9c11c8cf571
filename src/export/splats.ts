// Gaussian splats from a field's surface: one flat Gaussian per surface point, lying in the
// surface (its thin axis along the normal), as wide as the lattice spacing so neighbours overlap
// into a closed skin, coloured by the field. The 3DGS tools and web viewers open the result
// (ply.ts splatPly); it is a picture of the surface, not a trained splat model.
import type { Splats } from './ply.ts';
import { SH_C0, SH_C1, type Surface } from './surface.ts';

/** Standard deviations as shares of the lattice spacing: in the surface, and across it. */
const TANGENT_SIGMA = 0.6;
const NORMAL_SIGMA = 0.1;
/** Every splat's opacity: nearly opaque, so a surface seen through one layer is solid. */
const OPACITY = 0.9;

export function surfaceSplats(s: Pick<Surface, 'positions' | 'normals' | 'colors' | 'spacing' | 'sh1'>): Splats {
  const n = s.positions.length / 3;
  const h = (s.spacing[0] + s.spacing[1] + s.spacing[2]) / 3;
  const logScales = new Float32Array(n * 3);
  const rotations = new Float32Array(n * 4);
  const dc = new Float32Array(n * 3);
  const tangent = Math.log(TANGENT_SIGMA * h);
  const across = Math.log(NORMAL_SIGMA * h);
  for (let i = 0; i < n; i++) {
    logScales.set([tangent, tangent, across], i * 3);
    // The rotation taking the Gaussian's z axis to the normal: (1 + z·n, z × n), normalised.
    const nx = s.normals[i * 3]!;
    const ny = s.normals[i * 3 + 1]!;
    const nz = s.normals[i * 3 + 2]!;
    const q = nz < -0.999999 ? [0, 1, 0, 0] : [1 + nz, -ny, nx, 0];
    const len = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!);
    rotations.set(
      q.map((v) => v / len),
      i * 4,
    );
    for (let c = 0; c < 3; c++) {
      // With degree 1, the view straight down the normal (direction −n) must show the vertex
      // colour: the degree-1 term there is taken out of the DC term.
      const f = s.sh1?.subarray(i * 9 + c * 3, i * 9 + c * 3 + 3);
      const along = f ? SH_C1 * (ny * f[0]! - nz * f[1]! + nx * f[2]!) : 0;
      dc[i * 3 + c] = (s.colors[i * 3 + c]! / 255 - along - 0.5) / SH_C0;
    }
  }
  return {
    positions: s.positions,
    logScales,
    rotations,
    opacityLogits: new Float32Array(n).fill(Math.log(OPACITY / (1 - OPACITY))),
    dc,
    ...(s.sh1 ? { rest: s.sh1 } : {}),
  };
}
