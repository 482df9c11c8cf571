// A TensoRF radiance field (VM or CP) on the GPU: its settings, geometry, parameters (in one
// ParamArena), alpha mask and shading module. Training and rendering live in trainer.ts and
// render-batch.ts; this file knows the layout.
//
// Factor layout: channels-last. VM slot m has planes [H][W][K] and lines [L][K] (slotDims);
// CP slot m has lines [L][K]; Strivec level l has, per local tensor, three lines [3][L][K] (x, y,
// z), tensors in lattice order. Components are the innermost axis, so any prefix of components
// (a rank) is evaluated by stopping the component loop early: slimming needs no copy.
import type { GpuContext } from '../gpu/context.ts';
import type { ParamValues } from '../gpu/kernel.ts';
import { formatBytes, LimitError } from '../gpu/context.ts';
import {
  type Box,
  type Vec3,
  cpLineLength,
  cropLine,
  cropPlane,
  gridUnits,
  resizeLines,
  resizePlane,
  samplesPerRay,
  slotDims,
  stepSize,
} from './geometry.ts';
import { linearInit, ParamArena, randomNormal } from './params.ts';
import { ShadingModule, shadingSegments, type ShadingConfig } from './shading.ts';
import { levelLineSamples, type StrivecLevel } from './strivec.ts';

export type ModelKind = 'vm' | 'cp' | 'strivec';

/** How a kind's factors are laid out: over the whole grid (VM, CP) or as local tensors (Strivec). */
export type FactorLayout = 'global' | 'local';
export const factorLayout = (s: Pick<FieldSettings, 'kind'>): FactorLayout => (s.kind === 'strivec' ? 'local' : 'global');

/** Slots of a kind: VM's three plane-line pairs, CP's one, Strivec's levels. */
export const slotCount = (s: Pick<FieldSettings, 'kind' | 'levels'>): number => (s.kind === 'vm' ? 3 : s.kind === 'cp' ? 1 : s.levels?.length ?? 0);

export interface FieldSettings {
  kind: ModelKind;
  /** Density components per slot (VM: 3 slots; CP: one value, used for all three lines; Strivec: per level). */
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
  /** Strivec: the local tensors' lattices, coarsest first (set once the coarse pass has placed them). */
  levels?: StrivecLevel[];
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
  /** 'index': Strivec's lattice tables, read by the kernels but never trained. */
  group: 'factor' | 'dense' | 'index';
  /** Factors' geometry, for resize and crop: a plane's [width, height], or a line's length and axis. */
  plane?: [number, number];
  line?: number;
  axis?: number;
  /** Lines stored one after another (Strivec: 3 per local tensor); 1 when absent. */
  lines?: number;
}

/**
 * Every tensor of a model in arena order: the factors (VM: plane and line per slot; CP: lines;
 * Strivec: the lines of every local tensor per level), Strivec's lattice tables, the basis
 * (appDim x appearance width) and the shading weights. The arena, the model files and the scene
 * format all follow this list.
 */
export function fieldSegments(s: FieldSettings, box: Box, grid: Vec3): SegmentShape[] {
  const out: SegmentShape[] = [];
  if (s.kind === 'strivec') {
    const levels = s.levels ?? [];
    for (const [prefix, comps] of [['density', s.densityComps], ['app', s.appComps]] as const) {
      levels.forEach((lv, l) => {
        const len = levelLineSamples(lv, box, grid);
        const k = comps[l]!;
        out.push({ name: `${prefix}.level${l}`, count: lv.tensors * 3 * len * k, components: k, group: 'factor', line: len, lines: lv.tensors * 3 });
      });
    }
    levels.forEach((lv, l) => out.push({ name: `lattice.level${l}`, count: lv.dims[0] * lv.dims[1] * lv.dims[2], components: 1, group: 'index' }));
  }
  for (const [prefix, comps] of [['density', s.densityComps], ['app', s.appComps]] as const) {
    for (let m = 0; m < 3 && s.kind !== 'strivec'; m++) {
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
  out.push({ name: 'basis', count: s.shading.appDim * appWidthOf(s), components: 1, group: 'dense' });
  for (const w of shadingSegments(s.shading)) out.push({ name: w.name, count: w.count, components: 1, group: 'dense' });
  return out;
}

/** Width of the appearance component vector: the components of all slots (CP and Strivec levels alike). */
export function appWidthOf(s: FieldSettings): number {
  return s.appComps.reduce((a, b) => a + b, 0);
}

/** Components of factor segment `name` (e.g. "app.plane1") within the first `rank` groups. */
export function segmentComponentsAtRank(s: FieldSettings, name: string, rank: number): number {
  const c = componentsAtRank(s, rank);
  const slot = s.kind === 'cp' ? 0 : Number(name.at(-1));
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
      const width = appWidthOf(s);
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
  // Strivec's Synthetic-NeRF defaults (lego's per-level ranks, notes 3.3); the lattices are placed
  // by the coarse pass (src/fields/coarse.ts) before the field exists.
  strivec: { kind: 'strivec', densityComps: [32, 24, 16], appComps: [48, 48, 48], shading: mlpFea, initStd: 0.2, ...common },
} satisfies Record<string, FieldSettings>;
export type PresetName = keyof typeof MODEL_PRESETS;

/** Strivec levels the kernels take (the Field uniform's `levels` array). */
export const MAX_LEVELS = 3;

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
  /** Strivec's lattice tables, per level (a host copy: they never change); empty for VM and CP. */
  readonly lattice: Float32Array[] = [];
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
    if (settings.kind === 'strivec') {
      const n = settings.levels?.length ?? 0;
      if (n < 1 || n > MAX_LEVELS) throw new Error(`Strivec models take 1 to ${MAX_LEVELS} levels of local tensors, got ${n}`);
      if (settings.densityComps.length !== n || settings.appComps.length !== n) {
        throw new Error(`Strivec models take one density and one appearance component count per level (${n} levels)`);
      }
    }
    this.box = { lo: [...box.lo], hi: [...box.hi] };
    this.grid = [...grid];
    this.rank = this.maxRank;
    let s = seed;
    for (const seg of fieldSegments(settings, box, grid)) {
      if (seg.group === 'factor') {
        this.arena.add(seg.name, values?.get(seg.name) ?? randomNormal(seg.count, settings.initStd, s++), 'factor', seg.components);
      } else if (seg.group === 'index') {
        const table = values?.get(seg.name);
        if (!table) throw new Error(`Strivec field: the lattice table ${seg.name} is missing`);
        this.arena.add(seg.name, table, 'index');
        this.lattice.push(table);
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
    return appWidthOf(this.settings);
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
      else if (seg.group === 'index') continue;
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

  /** Trainable parameter count (factors, basis and shading network; not Strivec's lattice tables). */
  get parameterCount(): number {
    return this.arena.segments.reduce((n, s) => n + (s.group === 'index' ? 0 : s.count), 0);
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
  fieldUniform(rank: ComponentCounts = componentsAtRank(this.settings, this.rank)): ParamValues {
    const st = this.settings;
    const slots = slotCount(st);
    const off = (n: string) => (this.arena.has(n) ? this.arena.get(n).offset : 0);
    const perSlot = <T>(f: (m: number) => T, pad: T) => [0, 1, 2, 3].map((m) => (m < 3 ? f(m) : pad));
    const per = (prefix: string, what: string) => perSlot((m) => off(`${prefix}.${what}${m}`), 0);
    // CP's one count applies to all three lines; unused slots have zero components.
    const comps = (c: number[]) => perSlot((m) => (st.kind === 'cp' ? c[0]! : c[m] ?? 0), 0);
    const dk = comps(st.densityComps);
    const ak = comps(st.appComps);
    const active = (k: number[], r: number[]) => k.map((kk, m) => Math.min(kk, r[m] ?? r[0] ?? kk));
    const aCol = st.kind === 'cp' ? [0, 0, 0, this.appWidth] : [0, ak[0]!, ak[0]! + ak[1]!, this.appWidth];
    const u = this.units;
    const levels = [0, 1, 2].map((l) => {
      const lv = st.levels?.[l];
      if (!lv) return { dims: [0, 0, 0, 0], origin: [0, 0, 0, 0], spacing: [1, 1, 1, 0] };
      // The lattice in grid coordinates: centre of cell 0 and cell size per axis.
      const centre0 = [0, 1, 2].map((a) => (lv.origin[a]! + 0.5 * lv.spacing - this.box.lo[a]!) / u[a]!);
      return {
        dims: [...lv.dims, off(`lattice.level${l}`)],
        origin: [...centre0, lv.halfSize / lv.spacing],
        spacing: [...[0, 1, 2].map((a) => lv.spacing / u[a]!), levelLineSamples(lv, this.box, this.grid)],
      };
    });
    return {
      grid: [...this.grid, st.kind === 'vm' ? 0 : st.kind === 'cp' ? 1 : 2],
      d_plane: per('density', 'plane'),
      d_line: st.kind === 'strivec' ? per('density', 'level') : per('density', 'line'),
      a_plane: per('app', 'plane'),
      a_line: st.kind === 'strivec' ? per('app', 'level') : per('app', 'line'),
      d_k: dk,
      a_k: ak,
      d_active: active(dk, rank.density),
      a_active: active(ak, rank.app),
      a_col: aCol,
      levels,
      n_levels: st.kind === 'strivec' ? [slots, 0, 0, 0] : [0, 0, 0, 0],
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

  /** The factor tensors at a box and grid, with their geometry. */
  private factors(box: Box, grid: Vec3): SegmentShape[] {
    return fieldSegments(this.settings, box, grid).filter((s) => s.group === 'factor');
  }

  /**
   * Every factor resampled from the current geometry to (box, grid): planes bilinear, lines
   * linear, align corners (Strivec's local lines change length with the grid's cell size).
   */
  private resampled(values: Map<string, Float32Array>, box: Box, grid: Vec3): Map<string, Float32Array> {
    const after = this.factors(box, grid);
    const replace = new Map<string, Float32Array>();
    this.factors(this.box, this.grid).forEach((b, i) => {
      const a = after[i]!;
      const v = values.get(b.name)!;
      const k = b.components;
      replace.set(b.name, b.plane ? resizePlane(v, k, b.plane[0], b.plane[1], a.plane![0], a.plane![1]) : resizeLines(v, k, b.lines ?? 1, b.line!, a.line!));
    });
    return replace;
  }

  /** Resamples every factor to a new grid. */
  async upsample(grid: Vec3): Promise<void> {
    const replace = this.resampled(await this.arena.download(this.ctx), this.box, grid);
    this.grid = [...grid];
    this.checkFitsAfter(replace);
    await this.arena.rebuild(this.ctx, replace, 'field');
  }

  /**
   * Shrinks the box to `box` (from the alpha mask) and crops the factors to the lattice index
   * range [round((lo - a0) / unit), round((hi - a0) / unit) + 1) per axis, as the reference does.
   * Strivec's local tensors are not cropped (the reference changes only the box); their lines
   * keep their length because the cell size is unchanged.
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
    const newBox: Box = {
      lo: [0, 1, 2].map((a) => this.box.lo[a]! + lo[a]! * units[a]!) as Vec3,
      hi: [0, 1, 2].map((a) => this.box.lo[a]! + (hi[a]! - 1) * units[a]!) as Vec3,
    };
    const values = await this.arena.download(this.ctx);
    let replace = new Map<string, Float32Array>();
    if (this.settings.kind === 'strivec') {
      replace = this.resampled(values, newBox, newGrid);
    } else {
      const axisOfPlane = (m: number): [number, number] => (m === 0 ? [0, 1] : m === 1 ? [0, 2] : [1, 2]);
      let m = 0;
      for (const f of this.factors(this.box, this.grid)) {
        const v = values.get(f.name)!;
        if (f.plane) {
          const [ax, ay] = axisOfPlane(m % 3);
          replace.set(f.name, cropPlane(v, f.components, f.plane[0], lo[ax]!, hi[ax]!, lo[ay]!, hi[ay]!));
        } else {
          replace.set(f.name, cropLine(v, f.components, lo[f.axis!]!, hi[f.axis!]!));
          m++;
        }
      }
    }
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
