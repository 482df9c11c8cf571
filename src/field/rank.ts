// SlimmeRF's rank groups (notes 4.1): rank r keeps the first r density and 3r appearance
// components of every slot, and the basis columns that go with them. Plain TensoRF models are
// truncated the same way, so both compare. Channels-last factors make a rank prefix a prefix of
// every texel's components: evaluating at a rank needs no copy, saving at a rank a strided one.
import { segmentComponents } from './layout.ts';
import { appWidthOf, type ComponentCounts, type FieldSettings } from './settings.ts';

export const RANK_STEP = { density: 1, app: 3 } as const;

/** The rank-group step of a factor segment's family ("density.plane0" -> 1, "app.line2" -> 3). */
export function rankStepOf(segmentName: string): number {
  return segmentName.startsWith('density.') ? RANK_STEP.density : RANK_STEP.app;
}

/** Largest rank of a model: the rank at which every component is kept. */
export function maxRankOf(s: Pick<FieldSettings, 'densityComps' | 'appComps'>): number {
  return Math.max(...s.densityComps.map((k) => Math.ceil(k / RANK_STEP.density)), ...s.appComps.map((k) => Math.ceil(k / RANK_STEP.app)));
}

export function componentsAtRank(s: Pick<FieldSettings, 'densityComps' | 'appComps'>, rank: number): ComponentCounts {
  return {
    density: s.densityComps.map((k) => Math.min(k, rank * RANK_STEP.density)),
    app: s.appComps.map((k) => Math.min(k, rank * RANK_STEP.app)),
  };
}

/** Components of a factor segment with `components` per texel that the first `rank` groups keep. */
export function segmentComponentsAtRank(segmentName: string, components: number, rank: number): number {
  return Math.min(components, rank * rankStepOf(segmentName));
}

/** Settings of the model truncated to `rank` groups. */
export function settingsAtRank(s: FieldSettings, rank: number): FieldSettings {
  const keep = componentsAtRank(s, rank);
  return { ...s, densityComps: keep.density, appComps: keep.app };
}

/** The basis columns (of the full model's appearance vector) the first `rank` groups keep, slot by slot. */
export function basisColumnsAtRank(s: FieldSettings, rank: number): number[] {
  const keep = componentsAtRank(s, rank);
  const cols: number[] = [];
  let first = 0;
  s.appComps.forEach((k, m) => {
    for (let c = 0; c < keep.app[m]!; c++) cols.push(first + c);
    first += k;
  });
  return cols;
}

/**
 * The first `rank` groups of a model's values, as the values of a smaller model of the same
 * kind: factors keep their leading components (channels-last), the basis the matching columns.
 */
export function truncateToRank(
  s: FieldSettings,
  values: Map<string, Float32Array>,
  rank: number,
): { settings: FieldSettings; values: Map<string, Float32Array> } {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of values) {
    if (name.startsWith('density.') || name.startsWith('app.')) {
      const k = segmentComponents(s, name);
      const kk = segmentComponentsAtRank(name, k, rank);
      const texels = v.length / k;
      const t = new Float32Array(texels * kk);
      for (let i = 0; i < texels; i++) t.set(v.subarray(i * k, i * k + kk), i * kk);
      out.set(name, t);
    } else if (name === 'basis') {
      const width = appWidthOf(s);
      const rows = v.length / width;
      const cols = basisColumnsAtRank(s, rank);
      const t = new Float32Array(rows * cols.length);
      for (let r = 0; r < rows; r++) {
        cols.forEach((c, j) => {
          t[r * cols.length + j] = v[r * width + c]!;
        });
      }
      out.set(name, t);
    } else {
      out.set(name, v);
    }
  }
  return { settings: settingsAtRank(s, rank), values: out };
}
