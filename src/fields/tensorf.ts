// A TensoRF radiance field (VM or CP) on the GPU: its settings, geometry, parameters (in one
// ParamArena), alpha mask and shading module. Training and rendering live in trainer.ts and
// render-batch.ts; this file knows the layout.
//
// Factor layout: channels-last. VM slot m has planes [H][W][K] and lines [L][K] (slotDims);
// CP slot m has lines [L][K]. Components are the innermost axis, so any prefix of components (a
// rank) is evaluated by stopping the component loop early: slimming needs no copy.
import type { GpuContext } from '../gpu/context.ts';
import { formatBytes, LimitError } from '../gpu/context.ts';
import {
  type Box,
  type Vec3,
  cpLineLength,
  cropLine,
  cropPlane,
  gridUnits,
  resizeLine,
  resizePlane,
  samplesPerRay,
  slotDims,
  stepSize,
} from './geometry.ts';
import { linearInit, ParamArena, randomNormal } from './params.ts';
import { ShadingModule, shadingSegments, type ShadingConfig } from './shading.ts';

export type ModelKind = 'vm' | 'cp';

export interface FieldSettings {
  kind: ModelKind;
  /** Density components per slot (VM: 3 slots; CP: one value, used for all three lines). */
  densityComps: number[];
  appComps: number[];
  shading: ShadingConfig;
  densityShift: number;
  distanceScale: number;
  stepRatio: number;
  alphaMaskThres: number;
  rayMarchWeightThres: number;
  /** Standard deviation of the factor init (0.1 VM, 0.2 CP). */
  initStd: number;
  /** Trained by SlimmeRF's rank incrementation (TRaIn), so every rank prefix is a good model. */
  slimmable?: boolean;
}

/** Per-slot component counts to evaluate (density, appearance); see componentsAtRank. */
export interface ComponentCounts {
  density: number[];
  app: number[];
}

/**
 * SlimmeRF's rank groups (notes 4.1): rank r keeps the first r density and 3r appearance
 * components of every slot. Plain TensoRF models are truncated the same way, so both compare.
 */
export const RANK_STEP = { density: 1, app: 3 } as const;

export interface SegmentShape {
  name: string;
  count: number;
  /** Channels-last components per texel (factors); 1 for dense tensors. */
  components: number;
  group: 'factor' | 'dense';
  /** Factors' geometry, for resize and crop: a plane's [width, height], or a line's length and axis. */
  plane?: [number, number];
  line?: number;
  axis?: number;
}

/**
 * Every tensor of a model in arena order: the factors (VM: plane and line per slot; CP: lines),
 * the basis (appDim x appearance width) and the shading weights. The arena, the model files and
 * the scene format all follow this list.
 */
export function fieldSegments(s: FieldSettings, grid: Vec3): SegmentShape[] {
  const out: SegmentShape[] = [];
  for (const [prefix, comps] of [['density', s.densityComps], ['app', s.appComps]] as const) {
    for (let m = 0; m < 3; m++) {
      const k = comps[s.kind === 'vm' ? m : 0]!;
      if (s.kind === 'vm') {
        const [w, h, l] = slotDims(m, grid);
        out.push({ name: `${prefix}.plane${m}`, count: w * h * k, components: k, group: 'factor', plane: [w, h] });
        out.push({ name: `${prefix}.line${m}`, count: l * k, components: k, group: 'factor', line: l, axis: [2, 1, 0][m] });
      } else {
        const l = cpLineLength(m, grid);
        out.push({ name: `${prefix}.line${m}`, count: l * k, components: k, group: 'factor', line: l, axis: 2 - m });
      }
    }
  }
  const appWidth = s.appComps.reduce((a, b) => a + b, 0);
  out.push({ name: 'basis', count: s.shading.appDim * appWidth, components: 1, group: 'dense' });
  for (const w of shadingSegments(s.shading)) out.push({ name: w.name, count: w.count, components: 1, group: 'dense' });
  return out;
}

/** Components of factor segment `name` (e.g. "app.plane1") within the first `rank` groups. */
export function segmentComponentsAtRank(s: FieldSettings, name: string, rank: number): number {
  const c = componentsAtRank(s, rank);
  const slot = s.kind === 'vm' ? Number(name.at(-1)) : 0;
  return (name.startsWith('density.') ? c.density : c.app)[slot]!;
}

/** Settings of the model truncated to `rank` groups. */
export function settingsAtRank(s: FieldSettings, rank: number): FieldSettings {
  const keep = componentsAtRank(s, rank);
  return { ...s, densityComps: keep.density, appComps: keep.app };
}

/**
 * The first `rank` groups of a model's values, as the values of a smaller model of the same
 * kind: factors keep their leading components (channels-last), the basis the matching columns.
 */
export function truncateToRank(s: FieldSettings, values: Map<string, Float32Array>, rank: number): { settings: FieldSettings; values: Map<string, Float32Array> } {
  const keep = componentsAtRank(s, rank);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of values) {
    if (name.startsWith('density.') || name.startsWith('app.')) {
      const k = segmentComponentsAtRank(s, name, Infinity);
      const kk = segmentComponentsAtRank(s, name, rank);
      const texels = v.length / k;
      const t = new Float32Array(texels * kk);
      for (let i = 0; i < texels; i++) t.set(v.subarray(i * k, i * k + kk), i * kk);
      out.set(name, t);
    } else if (name === 'basis') {
      const width = s.appComps.reduce((a, b) => a + b, 0);
      const rows = v.length / width;
      const cols: number[] = [];
      let first = 0;
      s.appComps.forEach((k, m) => {
        for (let c = 0; c < keep.app[m]!; c++) cols.push(first + c);
        first += k;
      });
      const t = new Float32Array(rows * cols.length);
      for (let r = 0; r < rows; r++) cols.forEach((c, j) => (t[r * cols.length + j] = v[r * width + c]!));
      out.set(name, t);
    } else {
      out.set(name, v);
    }
  }
  return { settings: settingsAtRank(s, rank), values: out };
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

const mlpFea: ShadingConfig = { mode: 'MLP_Fea', appDim: 27, viewPe: 2, feaPe: 2, featureC: 128 };
const common = { densityShift: -10, distanceScale: 25, stepRatio: 0.5, alphaMaskThres: 1e-4, rayMarchWeightThres: 1e-4 };

export const MODEL_PRESETS = {
  vm192: { kind: 'vm', densityComps: [16, 16, 16], appComps: [48, 48, 48], shading: mlpFea, initStd: 0.1, ...common },
  vm48: { kind: 'vm', densityComps: [4, 4, 4], appComps: [12, 12, 12], shading: mlpFea, initStd: 0.1, ...common },
  cp384: { kind: 'cp', densityComps: [96], appComps: [288], shading: mlpFea, initStd: 0.2, ...common },
  // SlimmeRF-16 has VM-192's capacity (16 rank groups of 1 + 3 components per slot).
  slimmerf16: { kind: 'vm', densityComps: [16, 16, 16], appComps: [48, 48, 48], shading: mlpFea, initStd: 0.1, slimmable: true, ...common },
  slimmerf8: { kind: 'vm', densityComps: [8, 8, 8], appComps: [24, 24, 24], shading: mlpFea, initStd: 0.1, slimmable: true, ...common },
} satisfies Record<string, FieldSettings>;
export type PresetName = keyof typeof MODEL_PRESETS;

export interface AlphaMask {
  dims: Vec3;
  box: Box;
  bits: Uint32Array;
}

export class TensorField {
  readonly arena = new ParamArena();
  readonly shading: ShadingModule;
  box: Box;
  grid: Vec3;
  mask: AlphaMask | null = null;
  maskBuffer: GPUBuffer;
  /**
   * Rank groups that hold trained values. SlimmeRF starts at 1 and grows; the groups above are
   * still at their random init and are never evaluated. Plain models: maxRank.
   */
  rank: number;

  constructor(
    readonly ctx: GpuContext,
    readonly settings: FieldSettings,
    box: Box,
    grid: Vec3,
    seed = 20211202,
    values?: Map<string, Float32Array>,
  ) {
    if (settings.kind === 'cp' && (settings.densityComps.length !== 1 || settings.appComps.length !== 1)) {
      throw new Error('CP models take one density and one appearance component count');
    }
    if (settings.kind === 'vm' && (settings.densityComps.length !== 3 || settings.appComps.length !== 3)) {
      throw new Error('VM models take three density and three appearance component counts (one per slot)');
    }
    this.box = { lo: [...box.lo], hi: [...box.hi] };
    this.grid = [...grid];
    this.rank = this.maxRank;
    let s = seed;
    for (const seg of fieldSegments(settings, grid)) {
      if (seg.group === 'factor') {
        this.arena.add(seg.name, values?.get(seg.name) ?? randomNormal(seg.count, settings.initStd, s++), 'factor', seg.components);
      } else if (seg.name === 'basis') {
        this.arena.add('basis', values?.get('basis') ?? linearInit(seg.count, this.appWidth, seed + 99), 'dense');
      }
    }
    this.shading = new ShadingModule(ctx, settings.shading, this.arena, seed);
    if (values) {
      // Loading a saved model: the shading weights come from the file too.
      for (const seg of this.arena.segments) {
        const v = values.get(seg.name);
        if (v && v.length !== seg.count) throw new Error(`segment ${seg.name}: expected ${seg.count} values, got ${v.length}`);
      }
    }
    this.checkFits();
    this.arena.allocate(ctx, 'field');
    if (values) {
      for (const seg of this.arena.segments) {
        const v = values.get(seg.name);
        if (v && seg.name.startsWith('mlp.')) ctx.write(this.arena.params!, v, seg.offset * 4);
      }
    }
    this.maskBuffer = ctx.buffer('mask.bits', 16);
  }

  /** Width of the appearance component vector (sum over slots). */
  get appWidth(): number {
    const a = this.settings.appComps;
    return this.settings.kind === 'vm' ? a[0]! + a[1]! + a[2]! : a[0]!;
  }

  get maxRank(): number {
    return maxRankOf(this.settings);
  }

  segmentComponentsAtRank(name: string, rank: number): number {
    return segmentComponentsAtRank(this.settings, name, rank);
  }

  /** Parameters of the model truncated to `rank` groups (what a slimmed export holds). */
  parameterCountAtRank(rank: number): number {
    const keptApp = componentsAtRank(this.settings, rank).app.reduce((a, b) => a + b, 0);
    let n = 0;
    for (const seg of this.arena.segments) {
      if (seg.group === 'factor') n += (seg.count / seg.components) * this.segmentComponentsAtRank(seg.name, rank);
      // The basis keeps the columns of the kept appearance components.
      else n += seg.name === 'basis' ? (seg.count / this.appWidth) * keptApp : seg.count;
    }
    return n;
  }

  get step(): number {
    return stepSize(this.box, this.grid, this.settings.stepRatio);
  }

  get nSamples(): number {
    return samplesPerRay(this.grid, this.settings.stepRatio);
  }

  get units(): Vec3 {
    return gridUnits(this.box, this.grid);
  }

  /** Trainable parameter count (factors, basis and shading network). */
  get parameterCount(): number {
    return this.arena.segments.reduce((n, s) => n + s.count, 0);
  }

  /** Parameter bytes with Adam state; throws a LimitError naming what to change when it cannot fit. */
  private checkFits(): void {
    const biggest = Math.max(...this.arena.segments.map((s) => s.count)) * 4;
    const total = this.arena.total * 4;
    if (total > this.ctx.maxBinding) {
      throw new LimitError(
        `the ${this.settings.kind.toUpperCase()} field at grid ${this.grid.join('x')} needs ${formatBytes(total)} of parameters ` +
          `(largest tensor ${formatBytes(biggest)}) but this GPU binds at most ${formatBytes(this.ctx.maxBinding)}: ` +
          'lower N_voxel_final or the component counts',
      );
    }
  }

  /**
   * Values of the WGSL `Field` struct. `rank` limits evaluation to the first components of each
   * slot (for CP, entry 0 applies to all three lines); the default is the trained rank.
   */
  fieldUniform(rank: ComponentCounts = componentsAtRank(this.settings, this.rank)): Record<string, number[]> {
    const st = this.settings;
    const off = (n: string) => (this.arena.has(n) ? this.arena.get(n).offset : 0);
    const per = (prefix: string, what: string) => [0, 1, 2].map((m) => off(`${prefix}.${what}${m}`)).concat(0);
    const dk = st.kind === 'vm' ? [...st.densityComps] : [st.densityComps[0]!, st.densityComps[0]!, st.densityComps[0]!];
    const ak = st.kind === 'vm' ? [...st.appComps] : [st.appComps[0]!, st.appComps[0]!, st.appComps[0]!];
    const dActive = dk.map((k, m) => Math.min(k, rank.density[m] ?? rank.density[0] ?? k));
    const aActive = ak.map((k, m) => Math.min(k, rank.app[m] ?? rank.app[0] ?? k));
    const aCol = st.kind === 'vm' ? [0, ak[0]!, ak[0]! + ak[1]!, this.appWidth] : [0, 0, 0, this.appWidth];
    return {
      grid: [...this.grid, st.kind === 'vm' ? 0 : 1],
      d_plane: per('density', 'plane'),
      d_line: per('density', 'line'),
      a_plane: per('app', 'plane'),
      a_line: per('app', 'line'),
      d_k: [...dk, 0],
      a_k: [...ak, 0],
      d_active: [...dActive, 0],
      a_active: [...aActive, 0],
      a_col: aCol,
    };
  }

  /** Uniform values of the WGSL `Mask` struct. */
  maskUniform(): Record<string, number[]> {
    if (!this.mask) return { dims: [1, 1, 1, 0], lo: [0, 0, 0, 0], hi: [1, 1, 1, 0] };
    return { dims: [...this.mask.dims, 1], lo: [...this.mask.box.lo, 0], hi: [...this.mask.box.hi, 0] };
  }

  setMask(mask: AlphaMask | null): void {
    this.mask = mask;
    this.ctx.destroy(this.maskBuffer);
    this.maskBuffer = mask ? this.ctx.upload('mask.bits', mask.bits) : this.ctx.buffer('mask.bits', 16);
  }

  /** The factor tensors at `grid`, with their geometry. */
  private factors(grid: Vec3): SegmentShape[] {
    return fieldSegments(this.settings, grid).filter((s) => s.group === 'factor');
  }

  /** Resamples every factor to a new grid (bilinear planes, linear lines, align corners). */
  async upsample(grid: Vec3): Promise<void> {
    const values = await this.arena.download(this.ctx);
    const before = this.factors(this.grid);
    const after = this.factors(grid);
    const replace = new Map<string, Float32Array>();
    before.forEach((b, i) => {
      const a = after[i]!;
      const v = values.get(b.name)!;
      const k = b.components;
      replace.set(b.name, b.plane ? resizePlane(v, k, b.plane[0], b.plane[1], a.plane![0], a.plane![1]) : resizeLine(v, k, b.line!, a.line!));
    });
    this.grid = [...grid];
    this.checkFitsAfter(replace);
    await this.arena.rebuild(this.ctx, replace, 'field');
  }

  /**
   * Shrinks the box to `box` (from the alpha mask) and crops the factors to the lattice index
   * range [round((lo - a0) / unit), round((hi - a0) / unit) + 1) per axis, as the reference does.
   */
  async shrink(box: Box): Promise<void> {
    const units = this.units;
    const lo: number[] = [];
    const hi: number[] = [];
    for (let a = 0; a < 3; a++) {
      lo.push(Math.max(0, Math.round((box.lo[a]! - this.box.lo[a]!) / units[a]!)));
      hi.push(Math.min(this.grid[a]!, Math.round((box.hi[a]! - this.box.lo[a]!) / units[a]!) + 1));
      if (hi[a]! - lo[a]! < 2) {
        // A degenerate box (almost nothing occupied) would leave fewer than two samples on an axis.
        lo[a] = Math.max(0, Math.min(lo[a]!, this.grid[a]! - 2));
        hi[a] = lo[a]! + 2;
      }
    }
    const newGrid: Vec3 = [hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!];
    const values = await this.arena.download(this.ctx);
    const replace = new Map<string, Float32Array>();
    const axisOfPlane = (m: number): [number, number] => (m === 0 ? [0, 1] : m === 1 ? [0, 2] : [1, 2]);
    let m = 0;
    for (const f of this.factors(this.grid)) {
      const v = values.get(f.name)!;
      if (f.plane) {
        const [ax, ay] = axisOfPlane(m % 3);
        replace.set(f.name, cropPlane(v, f.components, f.plane[0], lo[ax]!, hi[ax]!, lo[ay]!, hi[ay]!));
      } else {
        replace.set(f.name, cropLine(v, f.components, lo[f.axis!]!, hi[f.axis!]!));
        m++;
      }
    }
    const newBox: Box = {
      lo: [0, 1, 2].map((a) => this.box.lo[a]! + lo[a]! * units[a]!) as Vec3,
      hi: [0, 1, 2].map((a) => this.box.lo[a]! + (hi[a]! - 1) * units[a]!) as Vec3,
    };
    this.box = newBox;
    this.grid = newGrid;
    await this.arena.rebuild(this.ctx, replace, 'field');
  }

  private checkFitsAfter(replace: Map<string, Float32Array>): void {
    let total = 0;
    for (const s of this.arena.segments) total += Math.ceil((replace.get(s.name)?.length ?? s.count) / 64) * 64;
    if (total * 4 > this.ctx.maxBinding) {
      throw new LimitError(
        `upsampling to grid ${this.grid.join('x')} needs ${formatBytes(total * 4)} of parameters, more than this GPU binds ` +
          `(${formatBytes(this.ctx.maxBinding)}): lower N_voxel_final`,
      );
    }
  }

  destroy(): void {
    this.shading.destroy();
    this.arena.destroy(this.ctx);
    this.ctx.destroy(this.maskBuffer);
  }
}
