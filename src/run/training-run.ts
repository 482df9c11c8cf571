// One training run, the same for the CLI, the bench and the studio: check and fit the memory,
// initialise the field (Strivec's coarse pass included) or continue from a checkpoint, train with
// pause, stop and a time budget, write checkpoints, measure held-out PSNR along the way, evaluate,
// and save. Every front end watches the same events and words them its own way; the one training
// loop is here (trainSteps), and the coarse pass borrows it.

import { poseError } from '../camera/align.ts';
import { type DatasetFingerprint, datasetFingerprint, fingerprintMismatch } from '../data/fingerprint.ts';
import type { Dataset, PosedView } from '../data/types.ts';
import { evenlySpacedViews } from '../data/views.ts';
import { type EvalResult, evaluate } from '../eval/evaluate.ts';
import { alignToRefined } from '../eval/poses.ts';
import { evaluateRanks, type RankPoint } from '../eval/rank-curve.ts';
import type { TensorField } from '../field/field.ts';
import { CheckpointError, encodeCheckpoint } from '../formats/checkpoint-file.ts';
import { type GpuContext, type LimitAdvice, LimitError } from '../gpu/context.ts';
import { RENDER_RAYS } from '../render/ray-batch.ts';
import { ViewRenderer } from '../render/view-renderer.ts';
import { type Checkpoint, captureCheckpoint, fieldFromCheckpoint } from '../train/checkpoint.ts';
import type { ResolvedConfig, TrainOptions } from '../train/config.ts';
import { createTrainingField } from '../train/init.ts';
import { estimateTrainingMemory, fitToAdapter, type MemoryEstimate } from '../train/memory.ts';
import { type StepInfo, Trainer } from '../train/trainer.ts';
import { GpuQueue } from './gpu-queue.ts';
import { modelBytes } from './models.ts';

export interface RunOptions {
  /** Seed of the field's initial values (the CLI uses the config's seed, the studio 1). */
  seed: number;
  /** Fit the configuration to this adapter's limits (the studio's presets) instead of refusing it. */
  fitToAdapter?: boolean;
  /** Stop after this many iterations (the schedule stays that of the full run): speed probes. */
  stopAfter?: number;
  /** Stop training once this much wall time is spent, the coarse pass included (benchmarks). */
  budgetSeconds?: number;
  /**
   * Held-out PSNR while training: every `every` iterations (and at the end) on `views` test views,
   * between steps, one measurement at a time and at most `share` of the time (a measurement that
   * took d waits d / share before the next).
   */
  heldOut?: { every: number; views: number; share: number };
  /** After training: PSNR and SSIM on `views` test views, and optionally at each of `ranks`. */
  evaluation?: { views: number; ranks?: number[] };
  /** After training: the model file's bytes go to `sink`, with `info(result)` in its header. */
  save?: { sink: (bytes: Uint8Array) => Promise<void>; info: (result: RunResult) => Record<string, unknown> };
  /** Time every kernel with GPU timestamps and report the totals. */
  profile?: boolean;
  /** Shared with renders of the field, so they never interleave with a step. */
  queue?: GpuQueue;
  /**
   * Checkpoints while training: every `everyIterations` iterations or `everySeconds` of training
   * (whichever comes first), when paused, when stopped and at the end. `sink` stores the bytes; it
   * must replace the previous checkpoint atomically, and a failure (a full disk) is reported and
   * training goes on.
   */
  checkpoint?: { everyIterations?: number; everySeconds?: number; sink: (bytes: Uint8Array, iter: number) => Promise<void> };
  /** Continue this checkpoint's run: its settings, options, tensors and state replace the configuration's. */
  resumeFrom?: Checkpoint;
  /**
   * Pose refinement: the training cameras' true poses, in the frame of the test cameras, when they
   * are known apart from the dataset's (the bench's perturbed poses). Default: the dataset's own.
   */
  truePoses?: PosedView[];
  /** The job protocol's cancel (job/job.ts): aborting it stops the run as stop() does, after the current iteration, with what was trained. */
  signal?: AbortSignal;
}

/** Mean rotation error (degrees) and camera-centre error (world units) after a similarity alignment. */
export interface PoseErrors {
  rotationDeg: number;
  translation: number;
}

export type RunEvent =
  /** The memory the run needs (and what was changed to fit this adapter). */
  | { type: 'memory'; estimate: MemoryEstimate; fitted: string[] }
  /** Preparing the field (Strivec's coarse pass and placement): a line and the share done. */
  | { type: 'prepare'; message: string; fraction: number }
  | { type: 'note'; message: string }
  /** The field exists and training starts. */
  | { type: 'start'; field: TensorField; iters: number }
  /** One iteration done; `seconds` of training so far (pauses excluded), `event` a schedule event. */
  | { type: 'step'; step: StepInfo; iters: number; seconds: number }
  | { type: 'held-out'; iter: number; psnr: number }
  | { type: 'evaluating'; view: number; views: number }
  | { type: 'rank'; point: RankPoint }
  /** A checkpoint was written after iteration `iter`: its size, the time training waited for it, and the write's. */
  | { type: 'checkpoint'; iter: number; bytes: number; stallMs: number; writeMs: number }
  /** A checkpoint could not be written (training goes on). */
  | { type: 'checkpoint-failed'; iter: number; error: unknown }
  | { type: 'finished'; result: RunResult }
  | { type: 'error'; error: unknown };

export interface RunResult {
  field: TensorField;
  /** Iterations trained, and why fewer than the configuration asked for (null when all were). */
  iters: number;
  stoppedEarly: string | null;
  /** Wall seconds of the whole run (coarse pass included) and of its training steps. */
  seconds: number;
  coarseSeconds: number;
  trainSeconds: number;
  samplesProcessed: number;
  /**
   * Per training iteration (this session's, scheduled events and checkpoints included): queue
   * submissions and blocking readbacks, each a GPU round trip the host waits on; throttles, the
   * waits for older steps while the GPU still has a newer one queued (GPU-bound training).
   */
  submissionsPerIteration: number;
  readbacksPerIteration: number;
  throttlesPerIteration: number;
  /** Sparse-view mode: the training views used. */
  trainViews: number | null;
  /** SlimmeRF: the iterations after which the rank grew. */
  rankSteps: number[];
  /** GPU memory allocated at the peak of the run, above what was held before it. */
  peakGpuBytes: number;
  evaluation: (EvalResult & { split: 'test' | 'train' }) | null;
  rankCurve: RankPoint[] | null;
  kernelMs: Record<string, number> | null;
  savedBytes: number | null;
  /** The iteration this run continued from (null for a fresh run), and the checkpoints it wrote. */
  resumedFrom: number | null;
  checkpoints: number;
  /**
   * Pose refinement: the refined training cameras (of training views `views`), and their error against the true poses
   * (RunOptions.truePoses, else the dataset's) before and after refinement. Null without refinement.
   */
  poses: { refined: PosedView[]; views: number[]; before: PoseErrors; after: PoseErrors } | null;
}

/** Thrown inside the run when it is stopped while the field is being prepared. */
class Stopped extends Error {}

export class TrainingRun {
  readonly queue: GpuQueue;
  readonly cfg: ResolvedConfig;
  field: TensorField | null = null;
  trainer: Trainer | null = null;
  /** Renders of the field being trained (shares the trainer's ray batch; use through `queue`). */
  renderer: ViewRenderer | null = null;
  private paused = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private pausedMs = 0;
  /** Checkpointing: the last one's iteration and time, the write in flight, and how many were written. */
  private saved = { iter: -1, at: 0, writing: Promise.resolve(), count: 0 };

  /** `cfg` is ignored when resuming: the checkpoint's settings and options continue. */
  constructor(
    readonly ctx: GpuContext,
    readonly dataset: Dataset,
    cfg: ResolvedConfig,
    readonly opts: RunOptions,
  ) {
    this.queue = opts.queue ?? new GpuQueue();
    const cp = opts.resumeFrom;
    const fit = opts.fitToAdapter && !cp ? fitToAdapter(cfg.settings, cfg.train, dataset, ctx.maxBinding) : { train: cp?.train ?? cfg.train, changes: [] };
    this.cfg = cp ? { settings: cp.settings, train: cp.train } : { ...cfg, train: fit.train };
    this.fitted = fit.changes;
    if (opts.signal?.aborted) this.stop();
    else opts.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** What fitting to the adapter changed, in words (empty when the run fits as asked). */
  readonly fitted: string[];

  /** Memory the run needs; `problem` says why it cannot fit, when it cannot. */
  get memory(): MemoryEstimate {
    return estimateTrainingMemory(this.cfg.settings, this.cfg.train, this.dataset, this.ctx.maxBinding);
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

  get isPaused(): boolean {
    return this.paused;
  }

  /** Runs to the end; resolves with null when stopped before the field existed. */
  async run(onEvent: (e: RunEvent) => void = () => {}): Promise<RunResult | null> {
    try {
      const result = await this.runPhases(onEvent);
      if (result) onEvent({ type: 'finished', result });
      return result;
    } catch (error) {
      if (error instanceof Stopped) return null;
      onEvent({ type: 'error', error });
      throw error;
    }
  }

  /** Memory check -> field -> training -> evaluation -> saving. */
  private async runPhases(onEvent: (e: RunEvent) => void): Promise<RunResult | null> {
    const { ctx, dataset: ds, cfg, opts } = this;
    const memory = this.memory;
    onEvent({ type: 'memory', estimate: memory, fitted: this.fitted });
    if (memory.problem) throw new LimitError(memory.problem.message, memory.problem.advice);
    const cp = opts.resumeFrom;
    // Only a checkpointed or resumed run needs to know its data (the fingerprint reads every pixel).
    const fingerprint = opts.checkpoint || cp ? datasetFingerprint(ds) : null;
    if (cp) {
      const why = fingerprintMismatch(cp.dataset, fingerprint!);
      if (why) throw new CheckpointError(`cannot continue this checkpoint here: ${why}`);
    }
    const peakBefore = ctx.allocatedBytes;
    ctx.peakBytes = ctx.allocatedBytes;
    const t0 = performance.now();

    // The field: from the checkpoint, random, or placed by a coarse pass that trains through this run's loop.
    const field = cp
      ? await fieldFromCheckpoint(ctx, cp)
      : await createTrainingField(
          ctx,
          ds,
          cfg,
          opts.seed,
          (f, opt, label) => this.coarsePass(f, opt, label, onEvent),
          (p) => onEvent({ type: 'prepare', ...p }),
        );
    const tTrain = performance.now();
    this.pausedMs = 0;
    this.field = field;
    const trainer = await this.makeTrainer(field, cfg.train);
    this.trainer = trainer;
    if (cp) trainer.restore(cp.trainer, cp.validRays);
    const before = cp?.progress ?? { seconds: 0, coarseSeconds: (tTrain - t0) / 1000, trainSeconds: 0, rankSteps: [] };
    // Shares the trainer's batch: only the render's camera buffers are new.
    this.renderer = new ViewRenderer(ctx, field, ds.nearFar, RENDER_RAYS, trainer.batch);
    if (opts.profile && !ctx.enableProfiling()) onEvent({ type: 'note', message: 'this adapter has no timestamp queries; no kernel profile' });
    const iters = Math.min(cfg.train.nIters, opts.stopAfter ?? Infinity);
    onEvent({ type: 'start', field, iters });

    // Training, with held-out PSNR and checkpoints between steps; the budget counts from the start
    // of this session (coarse pass included); a resumed run's times add to the checkpoint's.
    const rankSteps: number[] = [...before.rankSteps];
    const heldOut = opts.heldOut ? this.heldOutMeter(opts.heldOut, onEvent) : null;
    let budgetSpent: string | null = null;
    const trainSeconds = () => before.trainSeconds + (performance.now() - tTrain - this.pausedMs) / 1000;
    const progress = () => ({
      seconds: before.seconds + (performance.now() - t0) / 1000,
      coarseSeconds: before.coarseSeconds,
      trainSeconds: trainSeconds(),
      rankSteps,
    });
    const checkpoint = opts.checkpoint && fingerprint ? (force: boolean) => this.checkpoint(trainer, fingerprint, progress(), force, onEvent) : null;
    this.saved = { iter: trainer.iter, at: performance.now(), writing: Promise.resolve(), count: 0 };
    const shouldEnd = () => {
      if (opts.budgetSeconds !== undefined && performance.now() - t0 > opts.budgetSeconds * 1000)
        budgetSpent = `time budget of ${Math.round(opts.budgetSeconds)} s spent`;
      return budgetSpent !== null;
    };
    const counted = { ...ctx.counts, iter: trainer.iter };
    const done = await this.trainSteps(
      trainer,
      iters,
      shouldEnd,
      async (s, rankBefore) => {
        if (s.rank > rankBefore) rankSteps.push(s.iter);
        onEvent({ type: 'step', step: s, iters, seconds: trainSeconds() });
        if (heldOut && s.iter % opts.heldOut!.every === 0) void heldOut(s.iter, false);
        await checkpoint?.(false);
      },
      () => checkpoint?.(true),
    );
    // Stopped, out of budget or done: the last state is kept.
    await checkpoint?.(true);
    await this.saved.writing;
    const stepsRun = Math.max(1, trainer.iter - counted.iter);
    const perIteration = (n: number) => +(n / stepsRun).toFixed(2);
    if (heldOut && done > 0) await heldOut(done, true);
    const seconds = progress().seconds;
    const trained = trainSeconds();

    const poses = trainer.poses ? await this.queue.run(() => this.refinedPoses(trainer)) : null;
    const { evaluation, rankCurve } = opts.evaluation
      ? await this.evaluateField(field, opts.evaluation, onEvent, poses?.refined ?? null)
      : { evaluation: null, rankCurve: null };
    let kernelMs: Record<string, number> | null = null;
    if (ctx.profiler) {
      const rep = await ctx.profiler.report();
      kernelMs = Object.fromEntries(rep.slice(0, 10).map((r) => [r.label, Math.round(r.ms)]));
      ctx.profiler.reset();
    }
    const result: RunResult = {
      field,
      iters: done,
      // A run that ended short without spending its budget was stopped (by the user, or at stopAfter).
      stoppedEarly: done < cfg.train.nIters ? (budgetSpent ?? 'stopped') : null,
      seconds,
      coarseSeconds: before.coarseSeconds,
      trainSeconds: trained,
      samplesProcessed: trainer.samplesProcessed,
      submissionsPerIteration: perIteration(ctx.counts.submissions - counted.submissions),
      readbacksPerIteration: perIteration(ctx.counts.readbacks - counted.readbacks),
      throttlesPerIteration: perIteration(ctx.counts.throttles - counted.throttles),
      trainViews: trainer.trainViewIndices?.length ?? null,
      rankSteps,
      peakGpuBytes: ctx.peakBytes - peakBefore,
      evaluation,
      rankCurve,
      kernelMs,
      savedBytes: null,
      resumedFrom: cp?.trainer.iter ?? null,
      checkpoints: this.saved.count,
      poses,
    };
    if (opts.save) {
      const bytes = await this.queue.run(() => modelBytes(field, opts.save!.info(result)));
      await opts.save.sink(bytes);
      result.savedBytes = bytes.length;
    }
    return result;
  }

  /** Trains a field of a pass (Strivec's coarse pass) through this run's loop, reporting as it goes. */
  private async coarsePass(field: TensorField, opt: TrainOptions, label: string, onEvent: (e: RunEvent) => void): Promise<void> {
    const trainer = await this.makeTrainer(field, opt);
    let psnr = 0;
    try {
      await this.trainSteps(
        trainer,
        opt.nIters,
        () => false,
        (s) => {
          psnr = s.iter === 1 ? s.psnr : 0.9 * psnr + 0.1 * s.psnr;
          if (s.iter % 25 === 0 || s.iter === opt.nIters) {
            onEvent({
              type: 'prepare',
              message: `${label}: iteration ${s.iter}/${opt.nIters}, train PSNR ${psnr.toFixed(2)} dB`,
              fraction: s.iter / opt.nIters,
            });
          }
        },
      );
    } finally {
      trainer.destroy();
    }
    if (this.stopped) throw new Stopped(`stopped during the ${label}`);
  }

  /** The true training poses: the run's truePoses (in the trainer's view order) or the dataset's. */
  private truePoses(trainer: Trainer): PosedView[] {
    const truth = this.opts.truePoses;
    return truth ? trainer.trainViews.map((i) => truth[i]!) : trainer.givenCameras;
  }

  /** The refined training cameras and their errors before and after refinement. */
  private async refinedPoses(trainer: Trainer): Promise<NonNullable<RunResult['poses']>> {
    const refined = await trainer.refinedCameras();
    const truth = this.truePoses(trainer);
    return { refined, views: trainer.trainViews, before: poseError(trainer.givenCameras, truth), after: poseError(refined, truth) };
  }

  /**
   * PSNR and SSIM on test views (training views when there are none), and at each rank asked for.
   * After pose refinement the test cameras are aligned to the refined frame (eval/poses.ts alignToRefined).
   */
  private async evaluateField(
    field: TensorField,
    want: NonNullable<RunOptions['evaluation']>,
    onEvent: (e: RunEvent) => void,
    refined: PosedView[] | null,
  ): Promise<Pick<RunResult, 'evaluation' | 'rankCurve'>> {
    const ds = this.dataset;
    const renderer = this.renderer!;
    const given = ds.splits.test ?? ds.splits.train!;
    const split = refined ? { ...given, cameras: alignToRefined(given.cameras, this.truePoses(this.trainer!), refined) } : given;
    if (!ds.splits.test) onEvent({ type: 'note', message: 'the dataset has no test split; evaluating on training views' });
    const views = evenlySpacedViews(split.cameras.length, want.views);
    const ev = await this.queue.run(() => evaluate(renderer, ds, split, views, undefined, (view, n) => onEvent({ type: 'evaluating', view, views: n })));
    const evaluation = { ...ev, split: ds.splits.test ? ('test' as const) : ('train' as const) };
    const ranks = want.ranks;
    if (!ranks) return { evaluation, rankCurve: null };
    if (ranks.some((r) => r > field.rank)) {
      onEvent({
        type: 'note',
        message: `ranks above ${field.rank} skipped: the model has ${field.rank} trained rank groups; rank ${field.rank} evaluated instead`,
      });
    }
    const rankCurve = await this.queue.run(() => evaluateRanks(renderer, ds, split, views, ranks, (point) => onEvent({ type: 'rank', point })));
    return { evaluation, rankCurve };
  }

  /**
   * The one place a Trainer is made (the run's training and its coarse pass). Its ray batch is the
   * largest allocation after the field, with the training images: when the GPU cannot hold them, the
   * refusal says to lower the batch or the views.
   */
  private makeTrainer(field: TensorField, opt: TrainOptions): Promise<Trainer> {
    const advice: LimitAdvice[] = [{ change: 'batch' }, { change: 'fewer-views' }];
    return this.ctx.guardMemory(
      `making the trainer (${opt.batchSize.toLocaleString()} rays per batch)`,
      advice,
      () => new Trainer(this.ctx, this.dataset, field, opt),
      (t) => t.destroy(),
    );
  }

  /**
   * The training loop: up to `iters` steps through the GPU queue, waiting while paused, ending
   * early when stopped or when `shouldEnd` says so (checked before each step). Returns the
   * iterations done.
   */
  private async trainSteps(
    trainer: Trainer,
    iters: number,
    shouldEnd: () => boolean,
    onStep: (s: StepInfo, rankBefore: number) => void | Promise<void>,
    onPause: () => void | Promise<void> = () => {},
  ): Promise<number> {
    let done = trainer.iter;
    while (done < iters && !this.stopped) {
      if (this.paused) {
        await onPause();
        const since = performance.now();
        await new Promise<void>((r) => (this.wake = r));
        this.pausedMs += performance.now() - since;
        if (this.stopped) break;
      }
      if (shouldEnd()) break;
      const rankBefore = trainer.field.rank;
      const s = await this.queue.run(() => trainer.step());
      done = s.iter;
      await onStep(s, rankBefore);
    }
    return done;
  }

  /**
   * Writes a checkpoint when one is due (or `force`d, unless the last one is of this iteration):
   * the state is read between steps (the stall), then written while training goes on; the next
   * checkpoint waits for that write, so writes never overlap.
   */
  private async checkpoint(
    trainer: Trainer,
    dataset: DatasetFingerprint,
    progress: Checkpoint['progress'],
    force: boolean,
    onEvent: (e: RunEvent) => void,
  ): Promise<void> {
    const policy = this.opts.checkpoint!;
    const iter = trainer.iter;
    const dueByIterations = policy.everyIterations !== undefined && iter - this.saved.iter >= policy.everyIterations;
    const dueByTime = policy.everySeconds !== undefined && performance.now() - this.saved.at >= policy.everySeconds * 1000;
    if (iter === this.saved.iter || !(force || dueByIterations || dueByTime)) return;
    // The stall: training waits for the previous write, the read of the state and its encoding
    // (not for renders queued before the read, which it would wait for anyway).
    const w0 = performance.now();
    await this.saved.writing;
    let stallMs = performance.now() - w0;
    const state = await this.queue.run(async () => {
      const r0 = performance.now();
      const captured = await captureCheckpoint(trainer, dataset, progress);
      stallMs += performance.now() - r0;
      return captured;
    });
    // A state read from a lost device is not the run's: the last good checkpoint stays.
    if (this.ctx.lost) throw new Error(`the GPU device was lost (${this.ctx.lost.message || this.ctx.lost.reason})`);
    const e0 = performance.now();
    const bytes = encodeCheckpoint(state);
    stallMs += performance.now() - e0;
    this.saved.iter = iter;
    this.saved.at = performance.now();
    this.saved.writing = (async () => {
      const w0 = performance.now();
      try {
        await policy.sink(bytes, iter);
        this.saved.count++;
        onEvent({ type: 'checkpoint', iter, bytes: bytes.length, stallMs, writeMs: performance.now() - w0 });
      } catch (error) {
        onEvent({ type: 'checkpoint-failed', iter, error });
      }
    })();
  }

  /** Held-out PSNR of the field at its trained rank, measured between steps (see RunOptions.heldOut). */
  private heldOutMeter(cfg: NonNullable<RunOptions['heldOut']>, onEvent: (e: RunEvent) => void): (iter: number, force: boolean) => Promise<void> {
    const ds = this.dataset;
    const split = ds.splits.test ?? ds.splits.train!;
    const views = evenlySpacedViews(split.cameras.length, cfg.views);
    let inFlight: Promise<void> | null = null;
    let last = { at: 0, took: 0, iter: -1 };
    const measure = async (iter: number, renderer: ViewRenderer) => {
      const now = performance.now();
      try {
        const ev = await this.queue.run(() => evaluate(renderer, ds, split, views, renderer.field.rank));
        onEvent({ type: 'held-out', iter, psnr: ev.psnr });
      } finally {
        last = { at: performance.now(), took: performance.now() - now, iter };
        inFlight = null;
      }
    };
    return async (iter, force) => {
      // The final measurement waits for one in flight rather than being skipped.
      if (force && inFlight) await inFlight;
      const renderer = this.renderer;
      if (!renderer || inFlight || last.iter === iter || (!force && performance.now() - last.at < last.took / cfg.share)) return;
      inFlight = measure(iter, renderer);
      await inFlight;
    };
  }

  /** Releases the field, the trainer and the renderer. */
  dispose(): void {
    this.stop();
    this.renderer?.destroy(false);
    this.trainer?.destroy();
    this.field?.destroy();
    this.renderer = null;
    this.trainer = null;
    this.field = null;
  }
}
