// A radiance field on the GPU: its settings, box and grid, all parameters in one ParamArena, the
// alpha mask and the shading module. What its factors are (VM planes and lines, CP lines,
// Strivec's local tensors) is its layout's business (layout.ts, layouts/): this class only asks.
// Training and rendering live in train/ and render/.
//
// Factors are channels-last: a plane is [H][W][K], a line [L][K]. Components are the innermost
// axis, so any prefix of components (a rank) is evaluated by stopping the component loop early:
// slimming needs no copy.
import { formatBytes, type GpuContext, type LimitAdvice, LimitError } from '../gpu/context.ts';
import type { ParamValues } from '../gpu/kernel.ts';
import { arenaFloats, ParamArena } from '../gpu/param-arena.ts';
import { linearInit, randomNormal } from '../gpu/random.ts';
import { ShadingModule } from '../shading/shading.ts';
import { type Box, cropLine, cropPlane, gridUnits, resizeLines, resizePlane, samplesPerRay, stepSize, type Vec3 } from './geometry.ts';
import { fieldSegments, layoutOf } from './layout.ts';
import type { FieldLayout } from './layouts/field-layout.ts';
import { latticeTable, maskSums, tensorsInMask } from './layouts/strivec-lattice.ts';
import { componentsAtRank, maxRankOf, segmentComponentsAtRank } from './rank.ts';
import { type AlphaMask, appWidthOf, type ComponentCounts, type FieldSettings, type SegmentShape } from './settings.ts';

/** What to lower when the GPU cannot hold a grown field. */
const GROWTH_ADVICE: LimitAdvice[] = [{ change: 'final-grid' }, { change: 'components' }];

export class TensorField {
  /**
   * Makes a field in an out-of-memory error scope: when the GPU cannot hold it, a LimitError says
   * so with what to lower, and nothing is left allocated.
   */
  static async make(ctx: GpuContext, settings: FieldSettings, box: Box, grid: Vec3, seed?: number, values?: Map<string, Float32Array>): Promise<TensorField> {
    return ctx.guardMemory(
      `making the field at ${grid.join('x')}`,
      GROWTH_ADVICE,
      () => new TensorField(ctx, settings, box, grid, seed, values),
      (f) => f.destroy(),
    );
  }

  readonly arena = new ParamArena();
  readonly shading: ShadingModule;
  readonly layout: FieldLayout;
  box: Box;
  grid: Vec3;
  mask: AlphaMask | null = null;
  maskBuffer: GPUBuffer;
  /** The layout's index tables (Strivec's lattices), a host copy (they change only when tensors are pruned). */
  readonly lattice: Float32Array[] = [];
  /** Strivec: the tensors pruneTensors and occupyCells removed from each level, for the log and the studio; null before any. */
  pruned: number[] | null = null;
  /** Strivec: the tensors occupyCells added at each level (placing them again); null before any. */
  added: number[] | null = null;
  /**
   * Rank groups that hold trained values. SlimmeRF starts at 1 and grows; the groups above are
   * still at their random init and are never evaluated. Plain models: maxRank.
   */
  rank: number;

  constructor(
    readonly ctx: GpuContext,
    /** (Strivec's levels change when tensors are pruned.) */
    public settings: FieldSettings,
    box: Box,
    grid: Vec3,
    seed = 20211202,
    values?: Map<string, Float32Array>,
  ) {
    this.layout = layoutOf(settings.kind);
    const problem = this.layout.problem(settings);
    if (problem) throw new Error(problem);
    this.box = { lo: [...box.lo], hi: [...box.hi] };
    this.grid = [...grid];
    this.rank = this.maxRank;
    let s = seed;
    for (const seg of fieldSegments(settings, box, grid)) {
      if (seg.group === 'factor') {
        this.arena.add(seg.name, values?.get(seg.name) ?? randomNormal(seg.count, settings.initStd, s++), 'factor', seg.components);
      } else if (seg.group === 'index') {
        const table = values?.get(seg.name);
        if (!table) throw new Error(`${this.layout.label} field: the lattice table ${seg.name} is missing`);
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

  /** Parameters of the model truncated to `rank` groups (what a slimmed export holds). */
  parameterCountAtRank(rank: number): number {
    const keptApp = componentsAtRank(this.settings, rank).app.reduce((a, b) => a + b, 0);
    let n = 0;
    for (const seg of this.arena.segments) {
      if (seg.group === 'factor') n += (seg.count / seg.components) * segmentComponentsAtRank(seg.name, seg.components, rank);
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

  /** Strivec: each level's line parameters (density and appearance together); null for models without levels. */
  get parametersByLevel(): number[] | null {
    return this.settings.levels?.map((_, l) => this.arena.get(`density.level${l}`).count + this.arena.get(`app.level${l}`).count) ?? null;
  }

  /** Trainable parameter count (factors, basis and shading network; not index tables). */
  get parameterCount(): number {
    return this.arena.segments.reduce((n, s) => n + (s.group === 'index' ? 0 : s.count), 0);
  }

  /** Parameter bytes with Adam state; throws a LimitError saying what to change when it cannot fit. */
  private checkFits(): void {
    const biggest = Math.max(...this.arena.segments.map((s) => s.count)) * 4;
    const total = this.arena.total * 4;
    if (total > this.ctx.maxBinding) {
      throw new LimitError(
        `the ${this.layout.label} field at grid ${this.grid.join('x')} needs ${formatBytes(total)} of parameters ` +
          `(largest tensor ${formatBytes(biggest)}) but this GPU binds at most ${formatBytes(this.ctx.maxBinding)}`,
        [{ change: 'final-grid' }, { change: 'components' }],
      );
    }
  }

  /**
   * Values of the WGSL `Field` struct. `rank` limits evaluation to the first components of each
   * slot (for CP, entry 0 applies to all three lines); the default is the trained rank.
   */
  fieldUniform(rank: ComponentCounts = componentsAtRank(this.settings, this.rank)): ParamValues {
    const off = (n: string) => (this.arena.has(n) ? this.arena.get(n).offset : 0);
    const u = this.layout.uniform(this.settings, this.box, this.grid, off);
    const active = (k: number[], r: number[]) => k.map((kk, m) => Math.min(kk, r[m] ?? r[0] ?? kk));
    return {
      ...u,
      grid: [...this.grid, 0],
      d_active: active(u.d_k, rank.density),
      a_active: active(u.a_k, rank.app),
      levels: u.levels ?? NO_LEVELS,
      n_levels: u.n_levels ?? [0, 0, 0, 0],
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
   * linear, align corners (local tensors' lines change length with the grid's cell size).
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

  /** Every factor spanning the grid cropped to lattice indices [lo, hi) per axis. */
  private cropped(values: Map<string, Float32Array>, lo: number[], hi: number[]): Map<string, Float32Array> {
    const replace = new Map<string, Float32Array>();
    for (const f of this.factors(this.box, this.grid)) {
      const v = values.get(f.name)!;
      if (f.plane) {
        const [ax, ay] = f.axes!;
        replace.set(f.name, cropPlane(v, f.components, f.plane[0], lo[ax]!, hi[ax]!, lo[ay]!, hi[ay]!));
      } else {
        replace.set(f.name, cropLine(v, f.components, lo[f.axis!]!, hi[f.axis!]!));
      }
    }
    return replace;
  }

  /**
   * Strivec: removes the local tensors whose whole cube the alpha mask leaves empty (occupyCells),
   * keeping the rest in lattice order. Returns how many went from each level.
   */
  async pruneTensors(): Promise<number[]> {
    const levels = this.settings.levels;
    if (!levels || !this.mask) return [];
    const sums = maskSums(this.mask);
    const cells = levels.map((lv, l) => {
      const keep = tensorsInMask(lv, this.lattice[l]!, sums);
      return Uint8Array.from(this.lattice[l]!, (id) => (id > 0 && keep[id - 1] ? 1 : 0));
    });
    return (await this.occupyCells(cells, 0)).removed;
  }

  /**
   * Strivec: occupies exactly the given cells of each level's lattice (the lattices stay). A tensor
   * whose cell stays keeps its lines; a newly occupied cell gets fresh lines drawn as the field's
   * first ones were (initStd, from `seed`); the others go with their lattice cells, and their Adam
   * state with the arena's. A level that would be left empty keeps its tensors. Returns how many
   * tensors came and went at each level.
   */
  async occupyCells(cells: Uint8Array[], seed: number): Promise<{ added: number[]; removed: number[] }> {
    const levels = this.settings.levels;
    if (!levels) throw new Error(`${this.layout.label} field: no local tensors to place`);
    const old = this.lattice.slice();
    const next = cells.map((c, l) => (c.includes(1) ? c : Uint8Array.from(old[l]!, (id) => (id > 0 ? 1 : 0))));
    const added = next.map((c, l) => c.reduce((n, on, i) => n + (on && !(old[l]![i]! > 0) ? 1 : 0), 0));
    const removed = next.map((c, l) => c.reduce((n, on, i) => n + (!on && old[l]![i]! > 0 ? 1 : 0), 0));
    this.pruned = this.pruned ? this.pruned.map((n, l) => n + removed[l]!) : removed;
    if (added.some((a) => a > 0)) this.added = this.added ? this.added.map((n, l) => n + added[l]!) : added;
    if (added.every((a) => a === 0) && removed.every((r) => r === 0)) return { added, removed };
    const values = await this.arena.download(this.ctx);
    const replace = new Map<string, Float32Array>();
    const after = levels.map((lv, l) => ({ ...lv, tensors: lv.tensors + added[l]! - removed[l]! }));
    const tables = after.map((lv, l) => latticeTable(lv, next[l]!));
    after.forEach((lv, l) => {
      replace.set(`lattice.level${l}`, tables[l]!);
      // Each tensor's three lines lie together: the blocks in the new lattice order, kept or fresh.
      ['density', 'app'].forEach((family, f) => {
        const name = `${family}.level${l}`;
        const v = values.get(name)!;
        const per = v.length / levels[l]!.tensors;
        const fresh = randomNormal(added[l]! * per, this.settings.initStd, seed + 2 * l + f);
        const out = new Float32Array(lv.tensors * per);
        let to = 0;
        let drawn = 0;
        next[l]!.forEach((on, cell) => {
          if (!on) return;
          const id = old[l]![cell]!;
          if (id > 0) out.set(v.subarray((id - 1) * per, id * per), to);
          else out.set(fresh.subarray(drawn * per, ++drawn * per), to);
          to += per;
        });
        replace.set(name, out);
      });
    });
    const before = this.settings;
    this.settings = { ...before, levels: after };
    try {
      await this.arena.rebuild(this.ctx, replace, 'field with its tensors placed again');
    } catch (e) {
      this.settings = before;
      throw e;
    }
    this.lattice.splice(0, this.lattice.length, ...tables);
    return { added, removed };
  }

  /** Resamples every factor to a new grid. */
  async upsample(grid: Vec3): Promise<void> {
    const replace = this.resampled(await this.arena.download(this.ctx), this.box, grid);
    this.checkFitsAfter(replace);
    // When the GPU cannot hold the larger field, the field stays as it was (rebuild keeps it).
    await this.arena.rebuild(this.ctx, replace, `field at ${grid.join('x')}`, GROWTH_ADVICE);
    this.grid = [...grid];
  }

  /**
   * Shrinks the box to `box` (from the alpha mask) on the lattice index range
   * [round((lo - a0) / unit), round((hi - a0) / unit) + 1) per axis, as the reference does: factors
   * spanning the grid are cropped to it; local tensors are not cropped (the reference changes only
   * the box) and keep their line length, the cell size being unchanged.
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
    const replace = this.layout.shrink === 'crop' ? this.cropped(values, lo, hi) : this.resampled(values, newBox, newGrid);
    await this.arena.rebuild(this.ctx, replace, `field at ${newGrid.join('x')}`, GROWTH_ADVICE);
    this.box = newBox;
    this.grid = newGrid;
  }

  private checkFitsAfter(replace: Map<string, Float32Array>): void {
    const total = arenaFloats(this.arena.segments.map((s) => replace.get(s.name)?.length ?? s.count));
    if (total * 4 > this.ctx.maxBinding) {
      throw new LimitError(
        `upsampling to grid ${this.grid.join('x')} needs ${formatBytes(total * 4)} of parameters, more than this GPU binds ` +
          `(${formatBytes(this.ctx.maxBinding)})`,
        [{ change: 'final-grid' }],
      );
    }
  }

  destroy(): void {
    this.shading.destroy();
    this.arena.destroy(this.ctx);
    this.ctx.destroy(this.maskBuffer);
  }
}

/** The Field uniform's `levels` for layouts without local tensors. */
const NO_LEVELS = [0, 1, 2].map(() => ({ dims: [0, 0, 0, 0], origin: [0, 0, 0, 0], spacing: [1, 1, 1, 0] }));
