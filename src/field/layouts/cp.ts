// TensoRF-CP (notes 2.2): one "slot" of three lines, along z, y and x (the reference's vecMode
// [2,1,0]); a component is the product of the three lines.

import type { Vec3 } from '../geometry.ts';
import type { SegmentShape } from '../settings.ts';
import { lin, linTaps } from '../taps.ref.ts';
import { cpEval, cpGrad, cpScatter, cpTexels } from './cp.wgsl.ts';
import type { FieldLayout } from './field-layout.ts';

/** Grid axis of line m (line 0 runs along z, 1 along y, 2 along x). */
const lineAxis = (m: number) => 2 - m;

/** Length of line m. */
export function cpLineLength(m: number, grid: Vec3): number {
  return grid[lineAxis(m)]!;
}

export const cpLayout: FieldLayout = {
  kind: 'cp',
  label: 'CP',
  wgsl: { eval: cpEval, scatter: cpScatter, grad: cpGrad, texels: cpTexels },
  slotsFor: () => 1,
  problem: (s) => (s.densityComps.length !== 1 || s.appComps.length !== 1 ? 'CP models take one density and one appearance component count' : null),
  factorSegments(s, _box, grid): SegmentShape[] {
    const out: SegmentShape[] = [];
    for (const [prefix, comps] of [
      ['density', s.densityComps],
      ['app', s.appComps],
    ] as const) {
      for (let m = 0; m < 3; m++) {
        const l = cpLineLength(m, grid);
        out.push({ name: `${prefix}.line${m}`, count: l * comps[0]!, components: comps[0]!, group: 'factor', line: l, axis: lineAxis(m) });
      }
    }
    return out;
  },
  // The one count applies to all three lines.
  componentsOf: (s, segment) => (segment.startsWith('density.') ? s.densityComps : s.appComps)[0]!,
  uniform(s, _box, _grid, offsetOf) {
    const lines = (prefix: string) => [0, 1, 2, 3].map((m) => (m < 3 ? offsetOf(`${prefix}.line${m}`) : 0));
    const three = (k: number) => [k, k, k, 0];
    const width = s.appComps[0]!;
    return {
      d_plane: [0, 0, 0, 0],
      d_line: lines('density'),
      a_plane: [0, 0, 0, 0],
      a_line: lines('app'),
      d_k: three(s.densityComps[0]!),
      a_k: three(width),
      a_col: [0, 0, 0, width],
    };
  },
  shrink: 'crop',
  totalVariation: true,
  // The reference weights line TV by an extra 1e-3.
  tvTensors: (_s, grid) =>
    ['density', 'app'].flatMap((prefix) => [0, 1, 2].map((m) => ({ segment: `${prefix}.line${m}`, width: 1, height: cpLineLength(m, grid), scale: 1e-3 }))),
  training: { jitter: true, l1Scale: 1, maskedAdam: false },
  localTensors: false,
  refComponents(model, family, _m, u, count) {
    const k = (family === 'density' ? model.settings.densityComps : model.settings.appComps)[0]!;
    const grid = model.grid;
    const [L0, L1, L2] = [0, 1, 2].map((m) => model.values.get(`${family}.line${m}`)!);
    return Array.from({ length: count }, (_, r) => lin(L0!, u[2], grid[2], k, r) * lin(L1!, u[1], grid[1], k, r) * lin(L2!, u[0], grid[0], k, r));
  },
  refTexelTaps(model, family, _m, u) {
    return [0, 1, 2].map((m) => ({ segment: `${family}.line${m}`, taps: linTaps(u[lineAxis(m)]!, cpLineLength(m, model.grid)) }));
  },
};
