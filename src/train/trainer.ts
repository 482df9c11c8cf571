// One training iteration of TensoRF (notes 1.4-1.6, 2.3-2.4), read top to bottom in step():
// rays -> forward -> loss -> backward -> regularizers -> Adam -> schedule. The schedule's events
// (SlimmeRF's rank growth, alpha-mask updates with the box shrink and ray filtering, log-linear
// upsampling with an optimizer reset) run after the iteration that triggers them. What only some
// runs do (the coarse-to-fine blur, pose refinement, a codebook fine-tune) plugs in as trainer
// modules (module.ts) at fixed points of the step.
import type { Dataset, PosedView } from '../data/types.ts';
import { evenlySpacedViews, subsetViews } from '../data/views.ts';
import type { TensorField } from '../field/field.ts';
import { resolutionForVoxels } from '../field/geometry.ts';
import { segmentComponentsAtRank } from '../field/rank.ts';
import type { GpuContext } from '../gpu/context.ts';
import { Encoder } from '../gpu/kernel.ts';
import { Xorshift } from '../gpu/random.ts';
import { edgeBits } from '../rays/edges.ts';
import { TrainingRays } from '../rays/raygen.ts';
import { RayBatch, RENDER_RAYS } from '../render/ray-batch.ts';
import { Adam } from './adam.ts';
import { buildAlphaMask, filterRays } from './alpha-mask.ts';
import { CoarseToFine, supervisionAt } from './coarse-to-fine.ts';
import { blursFactors, type TrainOptions } from './config.ts';
import { PipelinedLoss, recordLoss } from './loss.ts';
import { estimateTrainingMemory } from './memory.ts';
import type { StepAt, TrainerModule } from './module.ts';
import { PoseRefinement, PoseRefiner, refineCamera } from './pose-refinement.ts';
import { addTotalVariation, l1WeightOf } from './regularizers.ts';
import { lrDecay, RankIncrementer, upsampleVoxelCounts } from './schedule.ts';
import type { TrainerState } from './state.ts';
import { surfaceCells } from './strivec-placement.ts';

export interface StepInfo {
  iter: number;
  /**
   * The batch's mean loss of iteration `lossIter`: the newest that has arrived without waiting
   * (PipelinedLoss), usually the previous iteration's (this one's on a run's first step).
   */
  loss: number;
  lossIter: number;
  psnr: number;
  samples: number;
  shaded: number;
  /** Trained rank groups after this iteration. */
  rank: number;
  event?: string;
}

/**
 * Training steps the host records ahead of the GPU: it records step i + 1 while step i runs, and
 * waits (a throttle) only for step i − 1, so the GPU always has work queued.
 */
const STEPS_AHEAD = 1;

export class Trainer {
  readonly batch: RayBatch;
  readonly rays: TrainingRays;
  readonly adam: Adam;
  /** Indices of the training views used in sparse-view mode; null when all are used. */
  readonly trainViewIndices: number[] | null;
  iter = 0;
  /** Samples of a resumed run's earlier iterations (samplesProcessed adds the ones read since). */
  private samplesBefore = 0;
  /** The iteration the learning rate last restarted its decay (upsampling resets it). */
  private lastReset = 0;
  private l1Weight: number;
  private readonly voxelSteps: number[];
  private readonly rng: Xorshift;
  private readonly ranks: RankIncrementer | null;
  /** Pose refinement (notes §5) when the options ask for it. */
  readonly poses: PoseRefiner | null;
  /** The modules plugged into each step, in the order their hooks run (module.ts). */
  private readonly modules: TrainerModule[] = [];
  /** The loss and the batch's counts, read without waiting (TRaIn's loss too, a step later: observeLoss). */
  private readonly losses: PipelinedLoss;
  /** The loss a resumed run's checkpoint kept for TRaIn's first observation (see TrainerState.lastLoss). */
  private savedLoss: { iter: number; loss: number } | null = null;

  constructor(
    readonly ctx: GpuContext,
    readonly dataset: Dataset,
    readonly field: TensorField,
    readonly opt: TrainOptions,
    /** Modules besides those the options ask for (module.ts), their hooks run after theirs. */
    modules: readonly TrainerModule[] = [],
  ) {
    const all = dataset.splits.train;
    if (!all) throw new Error(`${dataset.name}: no training split`);
    const split = opt.trainViews > 0 ? subsetViews(all, opt.trainViews) : all;
    this.rays = new TrainingRays(ctx, split, dataset.whiteBackground);
    if (opt.edgeLoss) this.rays.setEdges(edgeBits(split));
    this.trainViewIndices = opt.trainViews > 0 ? evenlySpacedViews(all.cameras.length, opt.trainViews) : null;
    // One shading chunk takes a trained field's batch: the memory estimate's statistic of its
    // shaded samples, at most TRAIN_SHADED_PER_RAY a ray (the density bootstrap may span several).
    const chunkRows = estimateTrainingMemory(field.settings, opt, dataset, ctx.maxBinding).trainChunkRows;
    this.batch = new RayBatch(ctx, field, Math.max(opt.batchSize, RENDER_RAYS), chunkRows);
    this.batch.nearFar = dataset.nearFar;
    this.adam = new Adam(ctx);
    this.l1Weight = opt.L1WeightInitial;
    this.voxelSteps = upsampleVoxelCounts(opt.nVoxelInit, opt.nVoxelFinal, opt.upsampList.length);
    this.rng = new Xorshift(opt.seed);
    if (opt.rankIncremental) field.rank = 1;
    this.ranks = opt.rankIncremental ? new RankIncrementer(field.rank, field.maxRank, opt.rankUpsilon, opt.rankEta) : null;
    this.losses = new PipelinedLoss(ctx);
    // (VM and CP only: train/config.ts refuses the blur for Strivec.)
    if (blursFactors(opt)) this.modules.push(new CoarseToFine(ctx, opt.blurSchedule, opt.seed));
    // Rays are drawn from the refined cameras, which start as the dataset's. Its gradient may be
    // the blur's adjoint: it runs after the blur's hooks.
    this.poses = opt.refinePoses ? new PoseRefiner(ctx, this.rays.images.cams, this.rays.images.count) : null;
    if (this.poses) {
      const refinement = new PoseRefinement(this.poses, opt);
      this.batch.enablePositionGrads();
      this.rays.cams = this.poses.refined;
      refinement.writeCameras();
      this.modules.push(refinement);
    }
    this.modules.push(...modules);
  }

  /** One training iteration, including any mask update or upsample scheduled after it. */
  async step(): Promise<StepInfo> {
    const { ctx, field, opt } = this;
    const n = opt.batchSize;
    // Before the first iteration, drop the rays that miss the box, as the reference does.
    if (this.iter === 0 && !this.rays.filtered) await filterRays(ctx, field, this.rays, 'box', this.dataset.nearFar, this.dataset.masked);

    // Rays: a seeded random batch of training pixels with their colours (with pose refinement
    // blurred and weighed as its supervision schedule says).
    const draw = new Encoder(ctx);
    this.rays.draw(draw, this.batch.rays, n, (opt.seed + this.iter * 7919) >>> 0, supervisionAt(opt, this.iter, opt.nIters));
    // Modules before the forward pass (coarse to fine: while the blur is wide enough, the passes
    // read a blurred copy of the factors).
    const at: StepAt = { iter: this.iter, nIters: opt.nIters, n, field, batch: this.batch };
    let factors: GPUBuffer | null = null;
    for (const m of this.modules) factors = m.beforeForward?.(draw, at) ?? factors;

    // Forward: samples, opacities, weights, shading and colours. White datasets always composite
    // on white; others on white in half the batches (as the reference).
    const bg = this.dataset.whiteBackground || this.rng.next() < 0.5 ? 1 : 0;
    const enc = new Encoder(ctx);
    await this.batch.forward(n, {
      train: true,
      jitter: field.layout.training.jitter,
      seed: this.iter + 1,
      bg,
      ...(factors ? { factors } : {}),
      // The rays and the blurred factors go in the sampling's submission; the shading and the
      // colours in the one that follows, with the loss, backward, regularizers and Adam.
      prelude: draw,
      finishIn: enc,
    });

    recordLoss(ctx, enc, this.batch, n);
    this.batch.backward(enc);
    // Modules after the backward pass (the blur's adjoint to the sharp factors; pose refinement:
    // each camera's share of the ray gradients, an Adam step, the refined cameras).
    const sharpened = new Set<string>();
    for (const m of this.modules) for (const name of m.afterBackward?.(enc, at) ?? []) sharpened.add(name);
    const decay = lrDecay(opt.lrDecayTargetRatio, opt.nIters, this.iter);
    const f32Segments = addTotalVariation(ctx, enc, field, { density: opt.TVWeightDensity, app: opt.TVWeightApp }, decay, n, sharpened);
    const lr = lrDecay(opt.lrDecayTargetRatio, opt.nIters, this.iter - this.lastReset);
    this.adam.update(enc, field.arena, (s) => (s.group === 'factor' ? opt.lrInit : opt.lrBasis) * lr, {
      gradScale: 1 / n,
      l1For: (s) => l1WeightOf(field, s, this.l1Weight),
      // Masked Adam (Strivec's lines): entries no sample reached keep their state (notes 3.6).
      skipZeroFor: (s) => field.layout.training.maskedAdam && s.group === 'factor',
      fixedPointFor: (s) => s.fixedPoint && !f32Segments.has(s.name),
      // Rank groups not yet unlocked keep their init and zero moments (SlimmeRF's ε-masks, notes 4.2).
      activeFor: (s) => (s.group === 'factor' ? segmentComponentsAtRank(s.name, s.components, field.rank) : s.components),
    });
    for (const m of this.modules) m.afterStep?.(enc, at);
    // The loss and the counts are read without waiting: the newest to have arrived is reported
    // (the first step waits for its own). The host then waits until the GPU has only this step
    // left to run (a throttle: it keeps one step queued ahead, never running dry).
    const afterSubmit = this.losses.record(enc, this.batch, n, this.iter + 1);
    enc.submit();
    afterSubmit();
    if (!this.losses.latest) await this.losses.flush();
    await this.losses.throttle(STEPS_AHEAD);
    const latest = this.losses.latest ?? { loss: Number.NaN, iter: this.iter + 1, samples: 0, shaded: 0 };
    // TRaIn (SlimmeRF) decides on the previous step's loss, which the throttle has seen arrive
    // (only this step is left on the GPU), so it costs no wait of its own; a rank it grows
    // applies a step later than the reference's (ARCHITECTURE.md).
    const decided = this.ranks ? await this.observeLoss() : false;
    this.iter++;

    // Schedule: rank growth, alpha-mask updates, upsampling.
    const events: string[] = [];
    if (decided) {
      field.rank = this.ranks!.rank;
      events.push(`rank grew to ${field.rank} of ${field.maxRank}`);
    }
    const maskAt = opt.updateAlphaMaskList.indexOf(this.iter);
    if (maskAt >= 0) events.push(await this.updateAlphaMask(maskAt));
    const upAt = opt.upsampList.indexOf(this.iter);
    if (upAt >= 0) {
      const grid = resolutionForVoxels(this.voxelSteps[upAt]!, field.box);
      await field.upsample(grid);
      this.adam.reset();
      this.lastReset = this.iter;
      events.push(`upsampled to ${grid.join('x')}`);
    }
    return {
      iter: this.iter,
      loss: latest.loss,
      lossIter: latest.iter,
      psnr: -10 * Math.log10(latest.loss),
      samples: latest.samples,
      shaded: latest.shaded,
      rank: field.rank,
      event: events.length ? events.join('; ') : undefined,
    };
  }

  /**
   * Rebuilds the alpha mask from the current density (notes 1.5). The first update shrinks the box
   * and switches the L1 weight; the second re-filters the training rays.
   */
  async updateAlphaMask(which: number): Promise<string> {
    const { ctx, field } = this;
    const built = await buildAlphaMask(ctx, field);
    const { dims } = built.mask;
    const n = dims[0] * dims[1] * dims[2];
    // An empty mask would cull every sample for good: the density has not formed yet (a short
    // schedule, or Strivec's slower start). Keep the previous mask and say so.
    if (built.occupied === 0) return `alpha mask ${dims.join('x')}: nothing occupied yet, kept the previous mask`;
    field.setMask(built.mask);
    let msg = `alpha mask ${dims.join('x')}: ${((100 * built.occupied) / n).toFixed(1)}% occupied`;
    if (which === 0 && built.occupiedBox) {
      await field.shrink(built.occupiedBox);
      // Deliberate difference: the reference keeps its old optimizer after the shrink, which then
      // updates orphaned tensors until the next upsample; we restart Adam on the cropped tensors.
      this.adam.reset();
      this.l1Weight = this.opt.L1WeightRest;
      msg += `; box shrunk to [${field.box.lo.map((v) => v.toFixed(3))}]-[${field.box.hi.map((v) => v.toFixed(3))}], grid ${field.grid.join('x')}`;
    }
    if (which === 0 && field.settings.levels) msg += this.poses ? await this.placeTensorsAgain() : await this.pruneTensors();
    if (which === 1) {
      const kept = await filterRays(ctx, field, this.rays, 'mask', this.dataset.nearFar, this.dataset.masked);
      msg += `; ${(100 * kept).toFixed(1)}% of training rays kept`;
    }
    return msg;
  }

  /** Strivec: the tensors whose whole cube is now empty space go, with their Adam state. */
  private async pruneTensors(): Promise<string> {
    const { field } = this;
    const gone = await field.pruneTensors();
    if (gone.every((g) => g === 0)) return '';
    this.adam.reset();
    return `; pruned ${gone.map((g, l) => `${g} of ${g + field.settings.levels![l]!.tensors} tensors at level ${l + 1}`).join(', ')}`;
  }

  /**
   * Strivec refining its poses: the coarse pass placed the tensors around the surface as the given
   * (perhaps noisy) cameras saw it. At the first mask update (late enough for the corrections to
   * have made most of their way, early enough for fresh tensors to train) the tensors go where the
   * field's own surface is as the refined cameras see it: kept where they still are, fresh ones
   * where the surface has moved to, the rest gone (which prunes the empty ones too).
   */
  private async placeTensorsAgain(): Promise<string> {
    const { ctx, field } = this;
    const cells = await surfaceCells(ctx, field, await this.refinedCameras(), this.dataset.nearFar);
    if (!cells) return '; kept the tensors where they were (no sample carried 1% of a pixel yet)';
    const { added, removed } = await field.occupyCells(cells, (this.opt.seed + this.iter * 7919) >>> 0);
    if (added.every((a) => a === 0) && removed.every((r) => r === 0)) return '; the tensors stay where they are';
    this.adam.reset();
    const levels = field.settings.levels!;
    return `; placed the tensors again around the surface the refined cameras see: ${levels
      .map((lv, l) => `${lv.tensors} tensors at level ${l + 1} (${added[l]} new, ${removed[l]} gone)`)
      .join(', ')}`;
  }

  /** Feeds TRaIn the previous step's loss (the saved one on a resumed run's first step); true when the rank grew. */
  private async observeLoss(): Promise<boolean> {
    const previous = this.iter;
    if (previous === 0) return false;
    const loss = await this.lossOf(previous);
    return loss !== undefined && this.ranks!.observe(previous, loss);
  }

  /** A recent iteration's loss: the checkpoint's for the iteration a resumed run started at, else as read (PipelinedLoss.lossOf). */
  private lossOf(iter: number): Promise<number | undefined> {
    return this.savedLoss?.iter === iter ? Promise.resolve(this.savedLoss.loss) : this.losses.lossOf(iter);
  }

  /** Samples taken by every iteration so far whose counts have arrived (all of them after fullState). */
  get samplesProcessed(): number {
    return this.samplesBefore + this.losses.samplesArrived;
  }

  /** The trainer's own state between iterations, without its modules' (see TrainerState). */
  private get ownState(): TrainerState {
    return {
      iter: this.iter,
      lastReset: this.lastReset,
      l1Weight: this.l1Weight,
      adamStep: this.adam.step,
      rngState: this.rng.state,
      rank: this.field.rank,
      ranks: this.ranks?.state ?? null,
      samplesProcessed: this.samplesProcessed,
      raysFiltered: this.rays.filtered,
    };
  }

  /** The training split's views the trainer draws from, in its order (all of them unless sparse). */
  get trainViews(): number[] {
    return this.trainViewIndices ?? this.dataset.splits.train!.cameras.map((_, i) => i);
  }

  /** The training cameras as the dataset gives them, in the order the trainer draws from. */
  get givenCameras(): PosedView[] {
    const all = this.dataset.splits.train!.cameras;
    return this.trainViews.map((i) => all[i]!);
  }

  /** The state with its modules' (pose refinement's corrections read from the GPU), as checkpoints keep it. */
  async fullState(): Promise<TrainerState> {
    // Every step's counts (samplesProcessed) and losses arrive first.
    await this.losses.flush();
    let s = this.ownState;
    // TRaIn observes the last iteration's loss at the next step, so a checkpoint keeps it.
    const lastLoss = this.ranks && s.iter > 0 ? await this.lossOf(s.iter) : undefined;
    if (lastLoss !== undefined) s.lastLoss = lastLoss;
    for (const m of this.modules) if (m.saveState) s = { ...s, ...(await m.saveState()) };
    return s;
  }

  /**
   * The training cameras as refined so far (the dataset's when poses are not refined), in the
   * order of the training split the trainer draws from.
   */
  async refinedCameras(): Promise<PosedView[]> {
    const cams = this.givenCameras;
    if (!this.poses) return cams;
    const correction = await this.poses.corrections();
    return cams.map((c, i) => refineCamera(c, correction.slice(i * 6, i * 6 + 6)));
  }

  /**
   * Continues from a saved state: the field must already hold the saved tensors, moments and mask
   * (train/checkpoint.ts), and `validRays` is the saved valid-ray bits.
   */
  restore(s: TrainerState, validRays: Uint32Array): void {
    if (validRays.length !== Math.ceil(this.rays.images.pixelCount / 32)) {
      throw new Error(`the saved valid-ray bits cover ${validRays.length * 32} pixels, the training images ${this.rays.images.pixelCount}`);
    }
    if ((s.ranks === null) !== (this.ranks === null)) throw new Error('the saved run and this one disagree on rank incrementation');
    this.iter = s.iter;
    this.lastReset = s.lastReset;
    this.l1Weight = s.l1Weight;
    this.adam.step = s.adamStep;
    this.rng.state = s.rngState;
    this.field.rank = s.rank;
    if (this.ranks && s.ranks) this.ranks.state = s.ranks;
    this.savedLoss = s.lastLoss !== undefined ? { iter: s.iter, loss: s.lastLoss } : null;
    this.samplesBefore = s.samplesProcessed - this.losses.samplesArrived;
    if (s.poses !== undefined && !this.poses) throw new Error('the saved run and this one disagree on pose refinement');
    for (const m of this.modules) m.restore?.(s);
    this.ctx.write(this.rays.valid, validRays);
    this.rays.filtered = s.raysFiltered;
  }

  destroy(): void {
    this.batch.destroy();
    this.rays.destroy();
    for (const m of this.modules) m.destroy?.();
    this.losses.destroy();
  }
}
