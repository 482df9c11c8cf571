// The studio's handle on the engine in the browser: one GPU device, the loaded dataset, the field
// and its trainer. Training runs as an async loop on the main thread: every step awaits GPU
// readbacks, so the page keeps handling input while the GPU works. Nothing here renders React.
import { proceduralDataset } from '../data/procedural.ts';
import { boxProblem, type SceneBox } from './dataset-geometry.ts';
import { FREE_VIEW_RANGE } from './view-camera.ts';
import type { Camera, Dataset } from '../data/types.ts';
import type { StrivecLevel } from '../fields/strivec.ts';
import { resolveConfig } from '../fields/config.ts';
import { estimateTrainingMemory, fitToAdapter, type MemoryEstimate } from '../fields/memory.ts';
import { createTrainingField, type FieldProgress } from '../fields/coarse.ts';
import { type PresetName, TensorField } from '../fields/tensorf.ts';
import { evaluate, groundTruthRgb, testViewIndices, ViewRenderer } from '../fields/evaluation.ts';
import { psnr } from '../metrics/image-metrics.ts';
import { errorHeatmap, rgbPixels, viewPixels, type RenderedView, type ViewMode } from './view-images.ts';
import { Trainer, type StepInfo } from '../fields/trainer.ts';
import { exportScene, type Precision, readScene, sceneFileSize, sceneView } from '../io/scene-file.ts';
import type { RankReadout } from './store.ts';
import { contextFromAdapter, type GpuContext } from '../gpu/context.ts';

/** Models the studio trains, with the engine preset each studio preset uses. */
export const STUDIO_MODELS = {
  vm: { label: 'TensoRF-VM', presets: { preview: 'vm48', balanced: 'vm192', quality: 'vm192' } },
  // The reference trains CP to a finer grid (500³): its factors are lines only.
  cp: { label: 'TensoRF-CP', presets: { preview: 'cp384', balanced: 'cp384', quality: 'cp384' }, options: { quality: { N_voxel_final: 500 ** 3 } } },
  slimmerf: { label: 'SlimmeRF (rank slider)', presets: { preview: 'slimmerf8', balanced: 'slimmerf16', quality: 'slimmerf16' } },
  strivec: {
    label: 'Strivec (local tensors)',
    presets: { preview: 'strivec', balanced: 'strivec', quality: 'strivec' },
    // A coarse pass places the tensors first; the preview keeps few components per level.
    options: { preview: { pre_N_iters: 120, n_lamb_sigma: [8, 6, 4], n_lamb_sh: [12, 12, 12] }, balanced: { pre_N_iters: 500 }, quality: { pre_N_iters: 1000 } },
  },
} as const satisfies Record<string, { label: string; presets: Record<StudioPreset, PresetName>; options?: Partial<Record<StudioPreset, Record<string, unknown>>> }>;
export type StudioModel = keyof typeof STUDIO_MODELS;

/**
 * Training sizes of the studio, in the reference's option names. Quality is the reference's own
 * schedule (30,000 iterations of 4,096 rays, 128³ → 300³). Each is fitted to the adapter's
 * limits before it runs (fitToAdapter): a smaller final grid or batch where a GPU binds less.
 */
export const STUDIO_PRESETS = {
  preview: {
    label: 'Fast preview',
    options: { n_iters: 600, batch_size: 512, N_voxel_init: 24 ** 3, N_voxel_final: 64 ** 3, upsamp_list: [100, 200, 300], update_AlphaMask_list: [150, 350], featureC: 32 },
  },
  balanced: {
    label: 'Balanced',
    options: { n_iters: 3000, batch_size: 2048, N_voxel_init: 64 ** 3, N_voxel_final: 128 ** 3, upsamp_list: [500, 1000, 1500], update_AlphaMask_list: [750, 1500] },
  },
  quality: {
    label: 'Quality',
    options: { n_iters: 30000, batch_size: 4096, N_voxel_init: 128 ** 3, N_voxel_final: 300 ** 3, upsamp_list: [2000, 3000, 4000, 5500, 7000], update_AlphaMask_list: [2000, 4000] },
  },
} as const;
export type StudioPreset = 'preview' | 'balanced' | 'quality';

export interface TrainRequest {
  model: StudioModel;
  preset: StudioPreset;
  /** Sparse-view mode: train on this many evenly spaced views; 0 = all. */
  trainViews: number;
  /** SlimmeRF's TRaIn threshold υ (notes 4.3): lower grows the rank sooner. */
  upsilon: number;
}

/** Held-out views behind the rank readout's PSNR: few, so a slider move answers quickly. */
const READOUT_VIEWS = 2;

/** A training view rendered beside its photo, with the error between them. */
export interface ComparedView {
  name: string;
  render: RenderedView;
  truth: RenderedView;
  error: RenderedView;
  psnr: number;
}

export class StudioSession {
  dataset: Dataset | null = null;
  field: TensorField | null = null;
  trainer: Trainer | null = null;
  private renderer: ViewRenderer | null = null;
  private paused = false;
  private stopped = false;
  /** A train() call is under way (coarse pass included). */
  private running = false;
  private wake: (() => void) | null = null;
  /** Serializes GPU work: the viewport never renders in the middle of a training step. */
  private gpuQueue: Promise<unknown> = Promise.resolve();

  private constructor(readonly ctx: GpuContext) {}

  static async open(gpu: GPU): Promise<StudioSession> {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('This browser exposes WebGPU but found no GPU adapter.');
    return new StudioSession(await contextFromAdapter(adapter));
  }

  /** The built-in scene, rendered by our own ray tracer: no download, no licence. */
  loadDemo(size = 48): Dataset {
    return this.useDataset(proceduralDataset({ size, train: 40, test: 8 }));
  }

  /** Replaces the dataset (and any model trained on the previous one). */
  useDataset(ds: Dataset): Dataset {
    this.dispose();
    this.dataset = ds;
    this.loadedBox = copyBox(ds.aabb);
    this.sceneDataset = null;
    const cams = ds.splits.train!.cameras;
    this.view = {
      radius: cams.reduce((s, c) => s + Math.hypot(c.c2w[3]!, c.c2w[7]!, c.c2w[11]!), 0) / cams.length,
      white: ds.whiteBackground,
      nearFar: ds.nearFar,
    };
    return ds;
  }

  /** The dataset's own box, before any edit. */
  loadedBox: SceneBox | null = null;

  /**
   * Sets the box the next training run fills (the dataset view's editor). Refused while a run is
   * going or when the box is empty or not finite.
   */
  setBox(box: SceneBox): void {
    const ds = this.dataset;
    if (!ds) throw new Error('Open a dataset first.');
    if (this.running) throw new Error('The box cannot change while training runs.');
    const problem = boxProblem(box);
    if (problem) throw new Error(`Scene box: ${problem}.`);
    ds.aabb = copyBox(box);
  }

  /**
   * How the viewport looks at the field: orbit distance (the training cameras' mean distance from
   * the origin), background and ray range. From the dataset, or from a scene file's info.
   */
  view = { radius: 4, white: true, nearFar: [2, 6] as [number, number] };

  /** Opens a scene file: the viewport renders it and the rank slider slims it (no training data). */
  openScene(bytes: Uint8Array, name: string): TensorField {
    const { header, model } = readScene(bytes, name);
    this.dispose();
    this.sceneDataset = typeof header.info.dataset === 'string' ? header.info.dataset : null;
    this.view = sceneView(header.info);
    const field = new TensorField(this.ctx, model.settings, model.box, model.grid, 1, model.values);
    if (model.mask) field.setMask(model.mask);
    this.field = field;
    this.renderer = new ViewRenderer(this.ctx, field, this.view.nearFar);
    this.viewRank = null;
    return field;
  }

  /** The current field as a scene file at a rank and precision (what the Export dialog downloads). */
  async exportScene(rank: number, precision: Precision): Promise<Uint8Array> {
    const field = this.field;
    if (!field) throw new Error('Nothing to export: train a model or open a scene first.');
    const values = await this.exclusive(() => field.arena.download(this.ctx));
    return exportScene({ settings: field.settings, box: field.box, grid: field.grid, values, mask: field.mask }, { rank, precision, info: this.sceneInfo() });
  }

  /** Bytes exportScene would produce, computed without reading the GPU (8-bit: the most it can be). */
  sceneSize(rank: number, precision: Precision): { bytes: number; exact: boolean } {
    const f = this.field;
    return f ? sceneFileSize(f.settings, f.box, f.grid, f.mask, { rank, precision, info: this.sceneInfo() }, f.lattice) : { bytes: 0, exact: true };
  }

  /** The dataset an opened scene was trained on (from its info), kept when it is exported again. */
  private sceneDataset: string | null = null;

  private sceneInfo(): Record<string, unknown> {
    return { orbitRadius: this.view.radius, whiteBackground: this.view.white, nearFar: this.view.nearFar, dataset: this.dataset?.name ?? this.sceneDataset };
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.gpuQueue.then(work, work);
    this.gpuQueue = next.catch(() => undefined);
    return next;
  }

  /**
   * GPU memory the run would need, whether it fits this adapter, and what was changed to fit
   * (null without a dataset).
   */
  estimate(req: TrainRequest): (MemoryEstimate & { sized: string[] }) | null {
    if (!this.dataset) return null;
    const { cfg, sized } = this.config(req);
    return { ...estimateTrainingMemory(cfg.settings, cfg.train, this.dataset, this.ctx.maxBinding), sized };
  }

  /** The run a request asks for, fitted to this adapter's limits. */
  private config(req: TrainRequest) {
    const model: { presets: Record<StudioPreset, PresetName>; options?: Partial<Record<StudioPreset, Record<string, unknown>>> } = STUDIO_MODELS[req.model];
    const extra = model.options?.[req.preset] ?? {};
    const cfg = resolveConfig(model.presets[req.preset], { ...STUDIO_PRESETS[req.preset].options, ...extra, train_views: req.trainViews, rank_upsilon: req.upsilon });
    const fit = this.dataset ? fitToAdapter(cfg.settings, cfg.train, this.dataset, this.ctx.maxBinding) : { train: cfg.train, changes: [] };
    return { cfg: { ...cfg, train: fit.train }, sized: fit.changes };
  }

  /**
   * Trains until done or stopped; `onPrepare` follows Strivec's coarse pass, `onStart` sees the new
   * field, `onStep` every iteration. Resolves with the last step.
   */
  async train(
    req: TrainRequest,
    onStart: (field: TensorField) => void,
    onStep: (s: StepInfo, elapsed: number) => void,
    onPrepare: (p: FieldProgress) => void = () => {},
  ): Promise<StepInfo | null> {
    this.running = true;
    try {
      return await this.trainLoop(req, onStart, onStep, onPrepare);
    } finally {
      this.running = false;
    }
  }

  private async trainLoop(
    req: TrainRequest,
    onStart: (field: TensorField) => void,
    onStep: (s: StepInfo, elapsed: number) => void,
    onPrepare: (p: FieldProgress) => void,
  ): Promise<StepInfo | null> {
    const ds = this.dataset;
    if (!ds) throw new Error('Load a dataset first.');
    const { cfg } = this.config(req);
    const mem = estimateTrainingMemory(cfg.settings, cfg.train, ds, this.ctx.maxBinding);
    if (mem.problem) throw new Error(`This configuration cannot fit: ${mem.problem}.`);
    this.disposeModel();
    this.viewRank = null;
    this.stopped = false;
    let field: TensorField;
    try {
      field = await createTrainingField(this.ctx, ds, cfg, 1, onPrepare, () => this.stopped);
    } catch (e) {
      if (this.stopped) return null;
      throw e;
    }
    this.field = field;
    this.trainer = new Trainer(this.ctx, ds, field, cfg.train);
    this.renderer = new ViewRenderer(this.ctx, field, ds.nearFar);
    onStart(field);
    this.paused = false;
    this.stopped = false;
    let last: StepInfo | null = null;
    let elapsed = 0;
    for (let i = 0; i < cfg.train.nIters && !this.stopped; i++) {
      if (this.paused) {
        await new Promise<void>((r) => (this.wake = r));
        if (this.stopped) break;
      }
      const t0 = performance.now();
      last = await this.exclusive(() => this.trainer!.step());
      elapsed += (performance.now() - t0) / 1000;
      onStep(last, elapsed);
    }
    return last;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
    this.wake = null;
  }

  stop(): void {
    this.stopped = true;
    this.resume();
  }

  /** Rank the viewport renders at (null: the trained rank). Slimming needs no copy: the kernels stop early. */
  viewRank: number | null = null;

  /** Parameters, file size and held-out PSNR of the current field slimmed to `rank`. */
  async rankReadout(rank: number, withPsnr: boolean): Promise<RankReadout | null> {
    const { field, renderer, dataset: ds } = this;
    if (!field || !renderer) return null;
    const r = Math.min(rank, field.rank);
    const base = { rank: r, params: field.parameterCountAtRank(r), bytes: this.sceneSize(r, 'fp16').bytes, psnr: null };
    // A scene opened without its dataset has no held-out views to measure.
    if (!withPsnr || !ds) return base;
    const split = ds.splits.test ?? ds.splits.train!;
    const ev = await this.exclusive(() => evaluate(renderer, ds, split, testViewIndices(split.cameras.length, READOUT_VIEWS), r));
    return { ...base, psnr: ev.psnr };
  }

  /**
   * Quality against size at every trained rank, one rank at a time through the GPU queue, so
   * the viewport stays responsive. Stops early (resolving with what it has) if the model changes.
   */
  async rankCurve(onPoint: (curve: RankReadout[]) => void): Promise<RankReadout[]> {
    const field = this.field;
    const curve: RankReadout[] = [];
    if (!field) return curve;
    for (let r = 1; r <= field.rank; r++) {
      if (this.field !== field) break;
      const p = await this.rankReadout(r, true);
      if (!p || this.field !== field) break;
      curve.push(p);
      onPoint([...curve]);
    }
    return curve;
  }

  /** Strivec's lattices and tables, for drawing the local tensors; null for other models. */
  get localTensors(): { levels: StrivecLevel[]; tables: Float32Array[] } | null {
    const f = this.field;
    return f?.settings.levels ? { levels: f.settings.levels, tables: f.lattice } : null;
  }

  /** Renders the current field from a viewport camera (free-view ray range, see view-camera.ts). */
  async renderView(cam: Camera, mode: ViewMode = 'color'): Promise<RenderedView | null> {
    const renderer = this.renderer;
    if (!renderer) return null;
    const img = await this.exclusive(() => renderer.render(cam, this.view.white ? 1 : 0, this.viewRank ?? undefined, FREE_VIEW_RANGE));
    return viewPixels(img, mode);
  }

  /** Training cameras the viewport can snap to. */
  get cameraCount(): number {
    return this.dataset?.splits.train?.cameras.length ?? 0;
  }

  /** Renders training camera `index` at its own resolution beside its photo, with the error heatmap. */
  async compareCamera(index: number, mode: ViewMode = 'color'): Promise<ComparedView | null> {
    const renderer = this.renderer;
    const ds = this.dataset;
    const split = ds?.splits.train;
    if (!renderer || !ds || !split || index < 0 || index >= split.cameras.length) return null;
    const img = await this.exclusive(() => renderer.render(split.cameras[index]!, ds.whiteBackground ? 1 : 0, this.viewRank ?? undefined));
    const gt = groundTruthRgb(split, index, ds.whiteBackground);
    return {
      name: split.names[index] ?? `view ${index}`,
      render: viewPixels(img, mode),
      truth: rgbPixels(gt, img.width, img.height),
      error: errorHeatmap(img.rgb, gt, img.width, img.height),
      psnr: psnr(img.rgb, gt),
    };
  }

  private disposeModel(): void {
    this.stop();
    this.renderer?.destroy();
    this.trainer?.destroy();
    this.field?.destroy();
    this.renderer = null;
    this.trainer = null;
    this.field = null;
  }

  dispose(): void {
    this.disposeModel();
    this.dataset = null;
  }
}

function copyBox(b: readonly [readonly number[], readonly number[]]): SceneBox {
  return [[b[0][0]!, b[0][1]!, b[0][2]!], [b[1][0]!, b[1][1]!, b[1][2]!]];
}
