// An interactive session with the engine (the studio's): one GPU device, the dataset and its box,
// a training run or an opened scene file, renders of the current field from any camera at any
// rank, and the readouts of the rank slider. All GPU work goes through one queue, so a render
// never runs in the middle of a training step. Environment-neutral apart from the browser file
// and image APIs its openFiles uses; nothing here renders pixels to a page.
import { defaultFinetuneIters, FINETUNE_BATCH } from '../compress/finetune.ts';
import { browserInputLimits, type DroppedFile, droppedSource } from '../data/browser-files.ts';
import { type DatasetFingerprint, datasetFingerprint } from '../data/fingerprint.ts';
import { decodeImageBrowser } from '../data/image-browser.ts';
import { VIDEO } from '../data/keyframes.ts';
import { isCapture, loadDataset } from '../data/load.ts';
import { findPhotos } from '../data/photos.ts';
import { proceduralDataset } from '../data/procedural.ts';
import type { Dataset, FileSource, PosedView, SceneBox } from '../data/types.ts';
import { evenlySpacedViews } from '../data/views.ts';
import { evaluate, groundTruthRgb, scoredPixels } from '../eval/evaluate.ts';
import { psnr } from '../eval/metrics.ts';
import { type RefinedCapture, refinedCaptureFiles } from '../export/capture.ts';
import { type ExportKind, exportGeometry, type GeometryExport } from '../export/exports.ts';
import type { SurfaceOptions } from '../export/surface.ts';
import type { TensorField } from '../field/field.ts';
import type { StrivecLevel } from '../field/layouts/strivec-lattice.ts';
import type { PresetName } from '../field/presets.ts';
import { decodeCheckpoint } from '../formats/checkpoint-file.ts';
import { type Precision, type SceneModel, type SceneView, sceneView } from '../formats/scene-file/header.ts';
import { readSceneAsync } from '../formats/scene-file/reader.ts';
import { exportScene, sceneFileSize } from '../formats/scene-file/writer.ts';
import { contextFromAdapter, type GpuContext } from '../gpu/context.ts';
import type { JobControl } from '../job/job.ts';
import type { ImageResult } from '../render/view-renderer.ts';
import { ViewRenderer } from '../render/view-renderer.ts';
import { resolveConfig } from '../train/config.ts';
import type { MemoryEstimate } from '../train/memory.ts';
import { type AppBenchmarkOptions, type AppBenchmarkResult, runAppBenchmark } from './app-benchmark.ts';
import { type CompactEvent, compactScene } from './compact-scene.ts';
import { GpuQueue } from './gpu-queue.ts';
import { fieldFromModel } from './models.ts';
import { type PosedPhotos, posedCaptureFiles, posedPhotoSource } from './posed-photos.ts';
import { type RunEvent, type RunOptions, type RunResult, TrainingRun } from './training-run.ts';

export type { DatasetFingerprint } from '../data/fingerprint.ts';
export { HOLD_OUT } from '../data/plan.ts';
export { EXPORT_KINDS, EXPORT_SUFFIX, type ExportKind, type GeometryExport } from '../export/exports.ts';
export { DEFAULT_LEVEL, DEFAULT_RESOLUTION } from '../export/surface.ts';

/**
 * Pixels per side of the demo's images: 256 on a GPU (sharp enough to judge a model by), 48 on a
 * software adapter (SwiftShader trains and renders about a thousand times slower).
 */
export function demoImageSize(adapter: { software: boolean }): number {
  return adapter.software ? 48 : 256;
}
// The engine's types the front ends see, through this module (they drive the engine through run/).
export type { PresetName } from '../field/presets.ts';
export type { LimitAdvice } from '../gpu/context.ts';
export type { MemoryEstimate } from '../train/memory.ts';
export type { RunEvent } from './training-run.ts';

/** Quality and size of the model slimmed to one rank. */
export interface RankReadout {
  rank: number;
  params: number;
  /** Size of the fp16 scene file at this rank. */
  bytes: number;
  /** Mean PSNR on held-out views at this rank; null until measured (or without held-out views). */
  psnr: number | null;
}

/** A compact file made in the studio, measured before it is saved. */
export interface CompactExport {
  bytes: Uint8Array;
  /** At the end of each rank block: the bytes a reader needs, the fp16 file's bytes and the held-out PSNR of what the file decodes to. */
  ranks: { rank: number; bytes: number; fp16Bytes: number; psnr: number | null }[];
  /** The bytes a reader needs for each rank 1 … the model's. */
  prefixBytes: number[];
  texels: { pruned: number; coded: number; kept: number };
}

export type CompactExportEvent = CompactEvent | { stage: 'evaluate'; done: number; total: number };

/** A training camera rendered beside its photo. */
export interface ComparedView {
  name: string;
  image: ImageResult;
  /** The photo as RGB floats (composited on white when the dataset says so). */
  truth: Float32Array;
  psnr: number;
}

/** Why a box cannot be used (non-finite or empty along an axis), or null when it can. */
export function boxProblem(box: SceneBox): string | null {
  const axes = ['x', 'y', 'z'];
  for (let i = 0; i < 3; i++) {
    const lo = box[0][i]!;
    const hi = box[1][i]!;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return `the box's ${axes[i]} range must be numbers`;
    if (!(hi > lo)) return `the box's ${axes[i]} max (${hi}) must be above its min (${lo})`;
  }
  return null;
}

/**
 * Ray range of free-view renders: rays start where they enter the box, not at the dataset's near
 * plane, so a camera zoomed or flown into the scene still sees what is in front of it.
 */
export const FREE_VIEW_RANGE: [number, number] = [0, 1e6];

/** Held-out views behind the rank readout's PSNR: few, so a slider move answers quickly. */
const READOUT_VIEWS = 2;
/** Held-out PSNR while training: every this many iterations, at most this share of the time. */
const HELD_OUT = { every: 25, views: READOUT_VIEWS, share: 0.05 };

export class Session {
  /** Replaced with the device: work stuck on a lost device must not hold up the new one's. */
  private queue = new GpuQueue();
  dataset: Dataset | null = null;
  /** The dataset's own box, before any edit. */
  loadedBox: SceneBox | null = null;
  /**
   * How the viewport looks at the field: orbit distance (the training cameras' mean distance from
   * the origin), background and ray range. From the dataset, or from a scene file's info.
   */
  view: SceneView = { radius: 4, white: true, nearFar: [2, 6] };
  /** Rank the viewport renders at (null: the trained rank). Slimming needs no copy: the kernels stop early. */
  viewRank: number | null = null;
  private run: TrainingRun | null = null;
  /** An opened scene file's field and renderer (no training run). */
  private scene: { field: TensorField; renderer: ViewRenderer; dataset: string | null } | null = null;
  private running = false;

  private constructor(
    /** The device everything lives on; replaced by recover() after the device is lost. */
    public ctx: GpuContext,
    private readonly gpu: GPU | null,
  ) {
    this.watchDevice();
  }

  static async open(gpu: GPU): Promise<Session> {
    return new Session(await Session.device(gpu), gpu);
  }

  static async fromAdapter(adapter: GPUAdapter): Promise<Session> {
    return new Session(await contextFromAdapter(adapter), null);
  }

  private static async device(gpu: GPU): Promise<GpuContext> {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('This browser exposes WebGPU but found no GPU adapter.');
    return contextFromAdapter(adapter);
  }

  /** Called when the GPU device is lost (a driver reset, a crashed GPU process, destroy()), with its reason and message. */
  onDeviceLost: ((reason: string, message: string) => void) | null = null;

  private watchDevice(): void {
    const ctx = this.ctx;
    void ctx.device.lost.then((info) => {
      // A device replaced by recover() has already been dealt with.
      if (ctx !== this.ctx) return;
      this.run?.stop();
      this.onDeviceLost?.(info.reason ?? 'unknown', info.message);
    });
  }

  /**
   * A new device after the old one was lost: everything on the old device is dropped (the
   * dataset, on the host, stays); the caller continues from its last checkpoint.
   */
  async recover(): Promise<void> {
    if (!this.gpu) throw new Error('This session cannot make a new GPU device.');
    this.run = null;
    this.scene = null;
    this.running = false;
    this.queue = new GpuQueue();
    this.ctx = await Session.device(this.gpu);
    this.watchDevice();
  }

  /** What identifies the open dataset for its checkpoints (null without one); computed once per dataset. */
  get fingerprint(): DatasetFingerprint | null {
    const ds = this.dataset;
    if (!ds) return null;
    if (this.fingerprinted?.dataset !== ds) this.fingerprinted = { dataset: ds, fingerprint: datasetFingerprint(ds) };
    return this.fingerprinted.fingerprint;
  }

  private fingerprinted: { dataset: Dataset; fingerprint: DatasetFingerprint } | null = null;

  /** The field the viewport shows: the one training or trained, or an opened scene's. */
  get field(): TensorField | null {
    return this.run?.field ?? this.scene?.field ?? null;
  }

  private get renderer(): ViewRenderer | null {
    return this.run?.renderer ?? this.scene?.renderer ?? null;
  }

  /**
   * The built-in scene, rendered by our own ray tracer: no download, no licence. Its images are
   * sized to the adapter (demoImageSize).
   */
  loadDemo(size = demoImageSize(this.ctx.adapter)): Dataset {
    return this.setDataset(proceduralDataset({ size, train: 40, test: 8 }));
  }

  /**
   * A dataset from files the user picked or dropped: one .zip, or a folder's files (paths
   * relative to it), in any layout the loaders read, decoded by the browser.
   */
  async openFiles(
    files: readonly (File | DroppedFile)[],
    { downscale, holdOut }: { downscale: number; holdOut?: number },
    onProgress: (done: number, total: number) => void,
  ): Promise<{ dataset: Dataset; label: string } | { photos: number; label: string; video?: true }> {
    // A video: its keyframes are posed (the worker decodes it).
    const one = files.length === 1 ? ('file' in files[0]! ? files[0]!.file : files[0]!) : null;
    if (one && VIDEO.test(one.name)) return { photos: 0, label: one.name, video: true };
    const { source, label } = await droppedSource(files, browserInputLimits());
    // Photos without poses: structure from motion poses them first (the controller's posing step).
    if (!(await isCapture(source))) {
      const photos = await findPhotos(source);
      if (photos.length > 0) return { photos: photos.length, label };
    }
    const dataset = await loadDataset(source, {
      downscale,
      holdOut,
      decode: decodeImageBrowser,
      splits: ['train', 'test'],
      onProgress,
      limits: browserInputLimits(),
    });
    return { dataset: this.setDataset(dataset), label };
  }

  /**
   * Opens photos posed by the posing worker: the capture it wrote over the user's files (read one
   * at a time at the downscale asked for), kept so the poses can be saved with the photos.
   */
  async openPosedPhotos(
    files: readonly (File | DroppedFile)[],
    posed: PosedPhotos,
    { downscale, holdOut }: { downscale: number; holdOut?: number },
    onProgress: (done: number, total: number) => void,
  ): Promise<{ dataset: Dataset; label: string }> {
    const limits = browserInputLimits();
    const { source, label } = await droppedSource(files, limits);
    const capture = posedPhotoSource(source, posed);
    const dataset = await loadDataset(capture, { downscale, holdOut, decode: decodeImageBrowser, splits: ['train', 'test'], onProgress, limits });
    this.setDataset(dataset);
    this.posed = { source, posed };
    return { dataset, label };
  }

  /** Photos posed by the worker, before they are opened: the capture with the user's photos, for saving. */
  async posedPhotosCapture(files: readonly (File | DroppedFile)[], posed: PosedPhotos): Promise<Map<string, Uint8Array>> {
    return posedCaptureFiles((await droppedSource(files, browserInputLimits())).source, posed);
  }

  /** Photos posed in the studio (openPosedPhotos): the user's files and the capture posing wrote. */
  private posed: { source: FileSource; posed: PosedPhotos } | null = null;

  /** Whether there are poses to save: computed by structure from motion, or refined by training. */
  get hasPoses(): boolean {
    return this.posed !== null || this.refinesPoses;
  }

  /**
   * The one poses export: the capture with the cameras refined by training where the run refined
   * them (the training photos as trained), else the poses structure from motion computed with the
   * user's photos as they are.
   */
  async posesCapture(encodePng: (rgba: Uint8Array, width: number, height: number) => Promise<Uint8Array>): Promise<RefinedCapture> {
    if (this.refinesPoses) return this.refinedCapture(encodePng);
    if (!this.posed) throw new Error('No poses to save: open photos without poses, or train with "Refine camera poses".');
    return { files: await posedCaptureFiles(this.posed.source, this.posed.posed), notes: [] };
  }

  /** Replaces the dataset (and any model trained on the previous one). */
  setDataset(ds: Dataset): Dataset {
    this.dispose();
    this.dataset = ds;
    this.loadedBox = copyBox(ds.aabb);
    const cams = ds.splits.train!.cameras;
    this.view = {
      radius: cams.reduce((s, c) => s + Math.hypot(c.c2w[3]!, c.c2w[7]!, c.c2w[11]!), 0) / cams.length,
      white: ds.whiteBackground,
      nearFar: ds.nearFar,
    };
    return ds;
  }

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

  /** Opens a scene file: the viewport renders it and the rank slider slims it (no training data). */
  async openScene(bytes: Uint8Array, name: string): Promise<TensorField> {
    const { header, model } = await readSceneAsync(bytes, name);
    this.dispose();
    await this.showModel(model, sceneView(header.info), typeof header.info.dataset === 'string' ? header.info.dataset : null, name);
    return this.field!;
  }

  /** Shows a decoded model (a scene file's, or the first rank groups of one still arriving). */
  async showModel(model: SceneModel, view: SceneView, dataset: string | null, name: string): Promise<TensorField> {
    this.disposeScene();
    this.view = view;
    const field = await fieldFromModel(this.ctx, model, name);
    const renderer = await this.ctx
      .guardMemory(
        'making the renderer',
        [{ change: 'components' }],
        () => new ViewRenderer(this.ctx, field, view.nearFar),
        (r) => r.destroy(),
      )
      .catch((e) => {
        field.destroy();
        throw e;
      });
    this.scene = { field, renderer, dataset };
    this.viewRank = null;
    return field;
  }

  /** The current field as a scene file at a rank and precision (what the Export dialog downloads). */
  async exportScene(rank: number, precision: Precision): Promise<Uint8Array> {
    const field = this.field;
    if (!field) throw new Error('Nothing to export: train a model or open a scene first.');
    const values = await this.queue.run(() => field.arena.download(this.ctx));
    return exportScene({ settings: field.settings, box: field.box, grid: field.grid, values, mask: field.mask }, { rank, precision, info: this.sceneInfo() });
  }

  /**
   * A compact scene file of the current field (run/compact-scene.ts: the texels' importance over
   * the training views, the planes quantised, the file written), reopened from its own bytes and
   * measured at the end of each rank block: what is shown is what is saved. Holds the GPU queue
   * throughout (the viewport waits); the signal cancels it between steps.
   */
  async compactScene(control: JobControl<CompactExportEvent>): Promise<CompactExport> {
    const { field, dataset: ds } = this;
    if (!field) throw new Error('Nothing to export: train a model or open a scene first.');
    if (!ds) throw new Error('A compact file needs the photos the model learned from (they weigh which texels matter): open its capture first.');
    return this.queue.run(async () => {
      // The quantised field is fine-tuned for a share of the run's iterations, with its batch (an
      // opened scene file records neither: it is quantised only).
      const c = await compactScene(field, {
        dataset: ds,
        finetuneIters: defaultFinetuneIters(this.run?.trainer?.iter),
        finetuneBatch: this.run?.cfg.train.batchSize ?? FINETUNE_BATCH,
        info: this.sceneInfo(),
        onEvent: control.onEvent,
        signal: control.signal,
      });
      const decoded = await fieldFromModel(this.ctx, (await readSceneAsync(c.bytes, 'compact file')).model, 'compact file');
      const renderer = new ViewRenderer(this.ctx, decoded, ds.nearFar);
      try {
        const split = ds.splits.test ?? ds.splits.train!;
        const views = evenlySpacedViews(split.cameras.length, READOUT_VIEWS);
        const ranks = c.model.rankBlocks.map(([, end]) => end);
        const rows: CompactExport['ranks'] = [];
        for (const [i, rank] of ranks.entries()) {
          control.signal?.throwIfAborted();
          control.onEvent?.({ stage: 'evaluate', done: i, total: ranks.length });
          const ev = await evaluate(renderer, ds, split, views, rank);
          rows.push({ rank, bytes: c.prefixBytes[rank - 1]!, fp16Bytes: this.sceneSize(rank, 'fp16').bytes, psnr: ev.psnr });
        }
        control.onEvent?.({ stage: 'evaluate', done: ranks.length, total: ranks.length });
        return { bytes: c.bytes, ranks: rows, prefixBytes: c.prefixBytes, texels: c.texels };
      } finally {
        renderer.destroy();
        decoded.destroy();
      }
    });
  }

  /**
   * The current field's surface as a mesh, points or splats at a rank (the Export panel's
   * geometry buttons). It holds the GPU queue for its whole run, so the viewport waits for it.
   */
  async exportGeometry(kind: ExportKind, opt: SurfaceOptions): Promise<GeometryExport> {
    const field = this.field;
    const renderer = this.renderer;
    if (!field || !renderer) throw new Error('Nothing to export: train a model or open a scene first.');
    return this.queue.run(() => exportGeometry(field, renderer, kind, opt));
  }

  /** Bytes exportScene would produce, computed without reading the GPU (8-bit: the most it can be). */
  sceneSize(rank: number, precision: Precision): { bytes: number; exact: boolean } {
    const f = this.field;
    return f ? sceneFileSize(f.settings, f.box, f.grid, f.mask, { rank, precision, info: this.sceneInfo() }, f.lattice) : { bytes: 0, exact: true };
  }

  private sceneInfo(): Record<string, unknown> {
    return {
      orbitRadius: this.view.radius,
      whiteBackground: this.view.white,
      nearFar: this.view.nearFar,
      dataset: this.dataset?.name ?? this.scene?.dataset ?? null,
    };
  }

  /** The run a preset and options ask for, fitted to this adapter's limits. */
  private runFor(preset: PresetName, options: Record<string, unknown>, more: Partial<RunOptions> = {}): TrainingRun {
    const ds = this.dataset;
    if (!ds) throw new Error('Load a dataset first.');
    return new TrainingRun(this.ctx, ds, resolveConfig(preset, options), { seed: 1, fitToAdapter: true, heldOut: HELD_OUT, ...more });
  }

  /**
   * GPU memory the run would need, whether it fits this adapter, and what was changed to fit
   * (null without a dataset).
   */
  estimate(preset: PresetName, options: Record<string, unknown>): (MemoryEstimate & { sized: string[] }) | null {
    if (!this.dataset) return null;
    const run = this.runFor(preset, options);
    return { ...run.memory, sized: run.fitted };
  }

  /**
   * Trains until done or stopped, reporting every event and writing checkpoints to `checkpoint`'s
   * sink when given; resolves with null when stopped before the field existed.
   */
  async train(
    preset: PresetName,
    options: Record<string, unknown>,
    onEvent: (e: RunEvent) => void,
    checkpoint?: RunOptions['checkpoint'],
  ): Promise<RunResult | null> {
    return this.go(this.runFor(preset, options, { queue: this.queue, checkpoint }), onEvent);
  }

  /** Continues a saved run on the open dataset (refused, naming why, when it was made on other data). */
  async continueFrom(bytes: Uint8Array, name: string, onEvent: (e: RunEvent) => void, checkpoint?: RunOptions['checkpoint']): Promise<RunResult | null> {
    const ds = this.dataset;
    if (!ds) throw new Error('Open the dataset the run was trained on first.');
    const cp = decodeCheckpoint(bytes, name);
    const cfg = { settings: cp.settings, train: cp.train };
    return this.go(new TrainingRun(this.ctx, ds, cfg, { seed: 1, heldOut: HELD_OUT, queue: this.queue, checkpoint, resumeFrom: cp }), onEvent);
  }

  private async go(run: TrainingRun, onEvent: (e: RunEvent) => void): Promise<RunResult | null> {
    this.disposeModel();
    this.viewRank = null;
    this.run = run;
    this.running = true;
    try {
      return await run.run(onEvent);
    } finally {
      // A run on a lost device may end after its replacement started.
      if (this.run === run) this.running = false;
    }
  }

  pause(): void {
    this.run?.pause();
  }

  resume(): void {
    this.run?.resume();
  }

  stop(): void {
    this.run?.stop();
  }

  /** Iterations the current run is configured for (after fitting). */
  get iterations(): number {
    return this.run?.cfg.train.nIters ?? 0;
  }

  /** Parameters, file size and held-out PSNR of the current field slimmed to `rank`. */
  async rankReadout(rank: number, withPsnr: boolean): Promise<RankReadout | null> {
    const { field, renderer, dataset: ds } = this;
    if (!field || !renderer) return null;
    const r = Math.min(rank, field.rank);
    const base = { rank: r, params: field.parameterCountAtRank(r), bytes: this.sceneSize(r, 'fp16').bytes, psnr: null };
    // A scene opened without its dataset has no held-out views to measure.
    if (!withPsnr || !ds) return base;
    const split = ds.splits.test ?? ds.splits.train!;
    const ev = await this.queue.run(() => evaluate(renderer, ds, split, evenlySpacedViews(split.cameras.length, READOUT_VIEWS), r));
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

  /** Strivec's lattices and tables, for drawing the local tensors, with each level's parameters; null for other models. */
  get localTensors(): { levels: StrivecLevel[]; tables: Float32Array[]; params: number[]; pruned: number[] | null; added: number[] | null } | null {
    const f = this.field;
    return f?.settings.levels ? { levels: f.settings.levels, tables: f.lattice, params: f.parametersByLevel!, pruned: f.pruned, added: f.added } : null;
  }

  /**
   * Renders the current field from a viewport camera (free-view ray range) at the view rank; `ms`
   * is the render's own time, without its wait behind training steps in the queue.
   */
  async renderView(cam: PosedView): Promise<(ImageResult & { ms: number }) | null> {
    const renderer = this.renderer;
    if (!renderer) return null;
    return this.queue.run(async () => {
      const t0 = performance.now();
      const image = await renderer.render(cam, this.view.white ? 1 : 0, this.viewRank ?? undefined, FREE_VIEW_RANGE);
      return { ...image, ms: performance.now() - t0 };
    });
  }

  /**
   * Renders one frame of a video: any camera, at `rank` (the view rank when absent), with the
   * scene's background and the free-view ray range.
   */
  async renderFrame(cam: PosedView, rank?: number): Promise<ImageResult> {
    const renderer = this.renderer;
    if (!renderer) throw new Error('Nothing to render: train a model or open a scene first.');
    return this.queue.run(() => renderer.render(cam, this.view.white ? 1 : 0, rank ?? this.viewRank ?? undefined, FREE_VIEW_RANGE));
  }

  /** The in-app benchmark on this session's device (app-benchmark.ts); nothing else should run meanwhile. */
  benchmark(opts: AppBenchmarkOptions = {}): Promise<AppBenchmarkResult> {
    return this.queue.run(() => runAppBenchmark(this.ctx, opts));
  }

  /** Whether the current run refines camera poses. */
  get refinesPoses(): boolean {
    return !!this.run?.trainer?.poses && this.run.dataset === this.dataset;
  }

  /**
   * Pose refinement: the training cameras as refined so far and the training views they belong
   * to; null when the current run does not refine poses.
   */
  async refinedCameras(): Promise<{ cameras: PosedView[]; views: number[] } | null> {
    const trainer = this.run?.trainer;
    // (A run on another dataset than the one open now has no cameras of it.)
    if (!trainer?.poses || this.run?.dataset !== this.dataset) return null;
    const cameras = await this.queue.run(() => trainer.refinedCameras());
    return { cameras, views: trainer.trainViews };
  }

  /**
   * Pose refinement's result as a capture that opens again (export/capture.ts): its files
   * by path, the images encoded by `encodePng` (the page's canvas).
   */
  async refinedCapture(encodePng: (rgba: Uint8Array, width: number, height: number) => Promise<Uint8Array>): Promise<RefinedCapture> {
    const refined = await this.refinedCameras();
    const train = this.dataset?.splits.train;
    if (!refined || !train) throw new Error('No refined cameras: train with "Refine camera poses" first.');
    return refinedCaptureFiles(
      refined.cameras,
      refined.views.map((v) => train.images[v]!),
      refined.views.map((v) => train.names[v]!),
      encodePng,
    );
  }

  /** The training cameras (for fitting a camera path to them); empty without a dataset. */
  get trainingCameras(): readonly PosedView[] {
    return this.dataset?.splits.train?.cameras ?? [];
  }

  /** Training cameras the viewport can snap to. */
  get cameraCount(): number {
    return this.dataset?.splits.train?.cameras.length ?? 0;
  }

  /** Renders training camera `index` at its own resolution, with its photo and the PSNR between them. */
  async compareCamera(index: number): Promise<ComparedView | null> {
    const renderer = this.renderer;
    const ds = this.dataset;
    const split = ds?.splits.train;
    if (!renderer || !ds || !split || index < 0 || index >= split.cameras.length) return null;
    const image = await this.queue.run(() => renderer.render(split.cameras[index]!, ds.whiteBackground ? 1 : 0, this.viewRank ?? undefined));
    const truth = groundTruthRgb(split, index, ds.whiteBackground);
    return { name: split.names[index] ?? `view ${index}`, image, truth, psnr: psnr(image.rgb, truth, scoredPixels(ds, split, index)) };
  }

  // Buffers are destroyed through the GPU queue: a render or measurement queued before holds the
  // old renderer and must run before its buffers go (else its submit fails, and a memory guard
  // running meanwhile reports that failure as its own).
  private disposeScene(): void {
    const old = this.scene;
    if (!old) return;
    this.scene = null;
    void this.queue.run(async () => {
      old.renderer.destroy();
      old.field.destroy();
    });
  }

  private disposeModel(): void {
    const run = this.run;
    this.run = null;
    if (run) {
      run.stop();
      void this.queue.run(async () => run.dispose());
    }
    this.disposeScene();
  }

  dispose(): void {
    this.disposeModel();
    this.dataset = null;
    this.posed = null;
  }
}

function copyBox(b: readonly (readonly number[])[]): SceneBox {
  return [
    [b[0]![0]!, b[0]![1]!, b[0]![2]!],
    [b[1]![0]!, b[1]![1]!, b[1]![2]!],
  ];
}
