// TensoRF-VM (notes 2.1): three slots, each a plane and a line (slot 0 the XY plane with a Z line,
// slot 1 XZ with Y, slot 2 YZ with X, as the reference's matMode and vecMode); a component is
// plane · line, and the density sums all components of all slots.

import type { Vec3 } from '../geometry.ts';
import type { FieldSettings, SegmentShape } from '../settings.ts';
import { bilin, bilinTaps, lin, linTaps } from '../taps.ref.ts';
import type { FieldLayout } from './field-layout.ts';
import { vmEval, vmGrad, vmScatter, vmTexels } from './vm.wgsl.ts';

/** (plane width, plane height, line length) of slot m. */
export function slotDims(m: number, grid: Vec3): Vec3 {
  const [x, y, z] = grid;
  if (m === 0) return [x, y, z];
  if (m === 1) return [x, z, y];
  return [y, z, x];
}

/** Grid axes of slot m's plane (width, height) and of its line. */
const PLANE_AXES: [number, number][] = [
  [0, 1],
  [0, 2],
  [1, 2],
];
const LINE_AXIS = [2, 1, 0];

const slotCoords = (m: number, u: Vec3): Vec3 => (m === 0 ? [u[0], u[1], u[2]] : m === 1 ? [u[0], u[2], u[1]] : [u[1], u[2], u[0]]);

const slotOf = (segment: string) => Number(segment.at(-1));

export const vmLayout: FieldLayout = {
  kind: 'vm',
  label: 'VM',
  wgsl: { eval: vmEval, scatter: vmScatter, grad: vmGrad, texels: vmTexels },
  slotsFor: () => 3,
  problem: (s) =>
    s.densityComps.length !== 3 || s.appComps.length !== 3 ? 'VM models take three density and three appearance component counts (one per slot)' : null,
  factorSegments(s: FieldSettings, _box, grid): SegmentShape[] {
    const out: SegmentShape[] = [];
    for (const [prefix, comps] of [
      ['density', s.densityComps],
      ['app', s.appComps],
    ] as const) {
      for (let m = 0; m < 3; m++) {
        const k = comps[m]!;
        const [w, h, l] = slotDims(m, grid);
        out.push({ name: `${prefix}.plane${m}`, count: w * h * k, components: k, group: 'factor', plane: [w, h], axes: PLANE_AXES[m] });
        out.push({ name: `${prefix}.line${m}`, count: l * k, components: k, group: 'factor', line: l, axis: LINE_AXIS[m] });
      }
    }
    return out;
  },
  componentsOf: (s, segment) => (segment.startsWith('density.') ? s.densityComps : s.appComps)[slotOf(segment)]!,
  uniform(s, _box, _grid, offsetOf) {
    const per = (f: (m: number) => number) => [0, 1, 2, 3].map((m) => (m < 3 ? f(m) : 0));
    const ak = per((m) => s.appComps[m]!);
    return {
      d_plane: per((m) => offsetOf(`density.plane${m}`)),
      d_line: per((m) => offsetOf(`density.line${m}`)),
      a_plane: per((m) => offsetOf(`app.plane${m}`)),
      a_line: per((m) => offsetOf(`app.line${m}`)),
      d_k: per((m) => s.densityComps[m]!),
      a_k: ak,
      a_col: [0, ak[0]!, ak[0]! + ak[1]!, ak[0]! + ak[1]! + ak[2]!],
    };
  },
  shrink: 'crop',
  totalVariation: true,
  // The reference weights plane TV by an extra 1e-2.
  tvTensors: (_s, grid) =>
    ['density', 'app'].flatMap((prefix) =>
      [0, 1, 2].map((m) => ({ segment: `${prefix}.plane${m}`, width: slotDims(m, grid)[0], height: slotDims(m, grid)[1], scale: 1e-2 })),
    ),
  training: { jitter: true, l1Scale: 1, maskedAdam: false },
  localTensors: false,
  refComponents(model, family, m, u, count) {
    const k = (family === 'density' ? model.settings.densityComps : model.settings.appComps)[m]!;
    const [w, h, l] = slotDims(m, model.grid);
    const c = slotCoords(m, u);
    const P = model.values.get(`${family}.plane${m}`)!;
    const L = model.values.get(`${family}.line${m}`)!;
    return Array.from({ length: count }, (_, r) => bilin(P, c[0], c[1], w, h, k, r) * lin(L, c[2], l, k, r));
  },
  refTexelTaps(model, family, m, u) {
    const [w, h, l] = slotDims(m, model.grid);
    const c = slotCoords(m, u);
    return [
      { segment: `${family}.plane${m}`, taps: bilinTaps(c[0], c[1], w, h) },
      { segment: `${family}.line${m}`, taps: linTaps(c[2], l) },
    ];
  },
};
