// Strivec (notes 3): many small CP tensors placed around the surface on up to three lattices
// (levels), placed by a coarse pass before the field exists. A slot is a level; a component of a
// level at a point is the inverse-distance blend of its nearest covering tensors' CP components.
// The lattice arithmetic (placement, lookup, weights, coverage) is in strivec-lattice.ts.

import { gridUnits } from '../geometry.ts';
import type { SegmentShape } from '../settings.ts';
import { lin } from '../taps.ref.ts';
import type { FieldLayout } from './field-layout.ts';
import { strivecEval, strivecGrad, strivecScatter } from './strivec.wgsl.ts';
import { idwWeights, latticeCandidates, levelLineSamples } from './strivec-lattice.ts';

/** Levels the kernels take (the Field uniform's `levels` array). */
export const MAX_LEVELS = 3;

const levelOf = (segment: string) => Number(segment.at(-1));

export const strivecLayout: FieldLayout = {
  kind: 'strivec',
  label: 'Strivec',
  wgsl: { eval: strivecEval, scatter: strivecScatter, grad: strivecGrad },
  slotsFor: (given) => given,
  problem(s) {
    const n = s.levels?.length ?? 0;
    if (n < 1 || n > MAX_LEVELS) return `Strivec models take 1 to ${MAX_LEVELS} levels of local tensors, got ${n}`;
    if (s.densityComps.length !== n || s.appComps.length !== n)
      return `Strivec models take one density and one appearance component count per level (${n} levels)`;
    return null;
  },
  // Per level, every tensor's x, y and z lines [3][L][K] one after another; then the lattice
  // tables (tensor index + 1 per cell), which the kernels read and nothing trains.
  factorSegments(s, box, grid): SegmentShape[] {
    const levels = s.levels ?? [];
    const out: SegmentShape[] = [];
    for (const [prefix, comps] of [
      ['density', s.densityComps],
      ['app', s.appComps],
    ] as const) {
      levels.forEach((lv, l) => {
        const len = levelLineSamples(lv, box, grid);
        const k = comps[l]!;
        out.push({ name: `${prefix}.level${l}`, count: lv.tensors * 3 * len * k, components: k, group: 'factor', line: len, lines: lv.tensors * 3 });
      });
    }
    levels.forEach((lv, l) => {
      out.push({ name: `lattice.level${l}`, count: lv.dims[0] * lv.dims[1] * lv.dims[2], components: 1, group: 'index' });
    });
    return out;
  },
  componentsOf: (s, segment) => (segment.startsWith('density.') ? s.densityComps : s.appComps)[levelOf(segment)]!,
  uniform(s, box, grid, offsetOf) {
    const levels = s.levels ?? [];
    const per = (f: (m: number) => number) => [0, 1, 2, 3].map((m) => (m < levels.length ? f(m) : 0));
    const ak = per((m) => s.appComps[m]!);
    const u = gridUnits(box, grid);
    return {
      d_plane: [0, 0, 0, 0],
      d_line: per((m) => offsetOf(`density.level${m}`)),
      a_plane: [0, 0, 0, 0],
      a_line: per((m) => offsetOf(`app.level${m}`)),
      d_k: per((m) => s.densityComps[m]!),
      a_k: ak,
      a_col: [0, ak[0]!, ak[0]! + ak[1]!, ak[0]! + ak[1]! + ak[2]!],
      // Each lattice in grid coordinates: centre of cell 0 and cell size per axis.
      levels: [0, 1, 2].map((l) => {
        const lv = levels[l];
        if (!lv) return { dims: [0, 0, 0, 0], origin: [0, 0, 0, 0], spacing: [1, 1, 1, 0] };
        const centre0 = [0, 1, 2].map((a) => (lv.origin[a]! + 0.5 * lv.spacing - box.lo[a]!) / u[a]!);
        return {
          dims: [...lv.dims, offsetOf(`lattice.level${l}`)],
          origin: [...centre0, lv.halfSize / lv.spacing],
          spacing: [...[0, 1, 2].map((a) => lv.spacing / u[a]!), levelLineSamples(lv, box, grid)],
        };
      }),
      n_levels: [levels.length, 0, 0, 0],
    };
  },
  // The reference changes only the box: tensors keep their place; their lines follow the cell size.
  shrink: 'resample',
  totalVariation: false,
  tvTensors: () => [],
  // Strivec samples without jitter, sums the means of its three lines per level in L1 (our one
  // segment per level holds them together: hence 3x), and masks Adam on its lines (notes 3.6).
  training: { jitter: false, l1Scale: 3, maskedAdam: true },
  localTensors: true,
  refComponents(model, family, l, u, count) {
    const { settings: st, box, grid, values } = model;
    const lv = st.levels![l]!;
    const units = gridUnits(box, grid);
    const p = u.map((g, a) => box.lo[a]! + g * units[a]!) as [number, number, number];
    const cands = latticeCandidates(lv, values.get(`lattice.level${l}`)!, p);
    if (!cands.length) return null;
    const w = idwWeights(cands);
    const k = (family === 'density' ? st.densityComps : st.appComps)[l]!;
    const len = levelLineSamples(lv, box, grid);
    const half = lv.halfSize / lv.spacing;
    const V = values.get(`${family}.level${l}`)!;
    const out = new Array<number>(count).fill(0);
    cands.forEach((c, ci) => {
      const x = c.local.map((q) => ((q + half) / (2 * half)) * (len - 1));
      for (let r = 0; r < count; r++) {
        let g = 1;
        for (let a = 0; a < 3; a++) g *= lin(V, x[a]!, len, k, r, (c.tensor * 3 + a) * len * k);
        out[r]! += w[ci]! * g;
      }
    });
    return out;
  },
};
