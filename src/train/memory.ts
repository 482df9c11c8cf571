// GPU memory a training run will need, before it starts: the parameter arena at the final grid
// (values, gradients, Adam's two moments), the training images, and the buffers of a training
// batch and of a rendering pass (live view or evaluation) when every sample inside the box is
// shaded, as during the density bootstrap early in training. Samples per ray come from the
// training cameras' rays through the box at the final grid; buffers are counted with the headroom
// they grow by. test/memory.test.ts checks that a run whose every sample is shaded stays below it.
// The studio shows it beside the Train button; the CLI prints it and refuses a run whose arena
// cannot fit one binding, naming what to change.
import type { Dataset, PosedView } from '../data/types.ts';
import {
  type Box,
  isWarped,
  marchStart,
  marchStep,
  rayBoxSpan,
  resolutionForVoxels,
  type SpaceWarp,
  samplesPerRay,
  stepSize,
  type Vec3,
} from '../field/geometry.ts';
import { fieldSegments, layoutOf } from '../field/layout.ts';
import { appWidthOf, type FieldSettings } from '../field/settings.ts';
import { formatBytes, type LimitAdvice } from '../gpu/context.ts';
import { SCRATCH_BYTES } from '../gpu/gemm.ts';
import { arenaFloats } from '../gpu/param-arena.ts';
import { downscaleToFit } from '../rays/gpu-split.ts';
import { RAY_OUT_BYTES } from '../render/batch-output.ts';
import {
  CHUNK_HEADROOM,
  chunkRowBytes,
  chunkRowsOf,
  LARGEST_SAMPLE_BYTES,
  PER_RAY_BYTES,
  PER_SAMPLE_BYTES,
  PER_SHADED_BYTES,
  POSITION_RAY_BYTES,
  POSITION_SAMPLE_BYTES,
  RENDER_RAYS,
  raysPerPass,
  renderChunkRows,
  TRAIN_SHADED_PER_RAY,
} from '../render/ray-batch.ts';
import { RENDER_GATHER_RAYS } from '../render/view-renderer.ts';
import { activationBytesPerRow } from '../shading/shading.ts';
import { blursFactors, type TrainOptions } from './config.ts';
import { trainingFrame } from './scene-frame.ts';

export interface MemoryEstimate {
  finalGrid: Vec3;
  /** Parameter arena at the final grid: values, gradients and two Adam moments. */
  parameters: number;
  images: number;
  /** Buffers of a training batch and a rendering pass while every sample is shaded. */
  batch: number;
  /** Shaded rows per chunk of a training batch: its statistic of shaded samples with headroom (render/ray-batch.ts). */
  trainChunkRows: number;
  total: number;
  /** Why the run cannot fit and what would make it fit (front ends word the advice); null when it can. */
  problem: { message: string; advice: LimitAdvice[] } | null;
  /** What the estimate cannot know yet; null when it is complete. */
  note: string | null;
  /** The run models the scene's surroundings, contracted or in NDC (train/scene-frame.ts). */
  contracted: boolean;
  /** ... in the NDC of the mean camera (a forward-facing capture). */
  ndc: boolean;
}

/** Floats of the field's parameter arena at a grid (one binding must hold them). */
function parameterFloats(settings: FieldSettings, box: Box, grid: Vec3): number {
  return arenaFloats(fieldSegments(settings, box, grid).map((s) => s.count));
}

export function estimateTrainingMemory(settings: FieldSettings, opt: TrainOptions, ds: Dataset, maxBinding: number): MemoryEstimate {
  const frame = trainingFrame(ds, settings, opt);
  const box = frame.box;
  const finalGrid = resolutionForVoxels(opt.nVoxelFinal, box);
  const floats = parameterFloats(settings, box, finalGrid);
  // Params, gradients and Adam's two moments; coarse-to-fine training adds a blurred copy of the
  // params (and a plane-sized scratch, within the copy's rounding) while its blur lasts.
  const parameters = floats * 4 * (blursFactors(opt) ? 5 : 4);
  const train = ds.splits.train!;
  const views = opt.trainViews > 0 ? Math.min(opt.trainViews, train.cameras.length) : train.cameras.length;
  // The images' mean size (they may differ) times the views trained on.
  const images = Math.round((views * train.cameras.reduce((s, c) => s + c.width * c.height * 4, 0)) / train.cameras.length);

  const perRay = samplesPerRayStats(
    train.cameras,
    box,
    ds.nearFar,
    stepSize(box, finalGrid, settings.stepRatio),
    samplesPerRay(finalGrid, settings.stepRatio),
    frame.settings,
  );
  const appWidth = appWidthOf(settings);
  const s = settings.shading;
  // One batch's buffers: rays; samples, and shaded rows in whole chunks, for every sample its rays
  // could take (a batch's kernels are sized on the GPU, render/ray-batch.ts); chunk buffers. A
  // training batch's chunk holds the shaded samples of a batch of random rays when every sample
  // is shaded (at most its mean plus four standard deviations of a batch mean, with headroom), or
  // TRAIN_SHADED_PER_RAY a ray if fewer; a rendering pass shades in chunks of RENDER_CHUNK_ROWS at most. (A training
  // batch's per-ray buffers hold a rendering pass's rays too: the CLI evaluates with it.) Pose
  // refinement's position gradients add a vec4 per sample and two per ray to the training batch.
  const spr = samplesPerRay(finalGrid, settings.stepRatio);
  const batchOf = (rayBuffers: number, rows: number, positions: boolean) => {
    const samples = raysPerPass(rayBuffers, spr, maxBinding) * spr;
    const shaded = Math.ceil(samples / rows) * rows;
    const perSample = PER_SAMPLE_BYTES + (positions ? POSITION_SAMPLE_BYTES : 0);
    const perRay = PER_RAY_BYTES + (positions ? POSITION_RAY_BYTES : 0);
    return { rows, bytes: rayBuffers * perRay + samples * perSample + shaded * PER_SHADED_BYTES + rows * chunkRowBytes(appWidth, s.appDim) };
  };
  const B = opt.batchSize;
  // A batch's shaded samples, all of them shaded (the density bootstrap), at most; a chunk holds
  // that or TRAIN_SHADED_PER_RAY a ray, the fewer: batches that shade more (mostly the bootstrap)
  // span several chunks and recompute their forward, rather than every batch holding the worst case.
  const bootstrapRows = Math.ceil(CHUNK_HEADROOM * (B * perRay.mean + 4 * perRay.std * Math.sqrt(B)));
  const trainChunkRows = chunkRowsOf(settings, maxBinding, Math.min(bootstrapRows, B * TRAIN_SHADED_PER_RAY));
  const trainBatch = batchOf(Math.max(B, RENDER_RAYS), trainChunkRows, opt.refinePoses);
  const renderBatch = batchOf(RENDER_RAYS, renderChunkRows(settings, maxBinding, RENDER_RAYS * spr), false);
  // The shading activations are the field's, shared by both batches; each batch has a GEMM scratch.
  const shading = Math.max(trainBatch.rows, renderBatch.rows) * activationBytesPerRow(s);
  // A render gathers its passes' outputs on the GPU (at most RENDER_GATHER_RAYS of them) between readbacks.
  const gather = RENDER_GATHER_RAYS * RAY_OUT_BYTES;
  const batch = trainBatch.bytes + renderBatch.bytes + shading + 3 * SCRATCH_BYTES + gather;

  const layout = layoutOf(settings.kind);
  let problem: MemoryEstimate['problem'] = null;
  if (floats * 4 > maxBinding) {
    problem = {
      message:
        `the ${layout.label} field at its final grid ${finalGrid.join('x')} needs ${formatBytes(floats * 4)} of parameters, ` +
        `but this GPU binds at most ${formatBytes(maxBinding)}`,
      advice: [{ change: 'final-grid' }, { change: 'components' }],
    };
  } else if (images > maxBinding) {
    problem = {
      message: `the ${views} training images need ${formatBytes(images)} but this GPU binds at most ${formatBytes(maxBinding)}`,
      advice: [{ change: 'downscale', factor: downscaleToFit(images, maxBinding) }, { change: 'fewer-views' }],
    };
  }
  // Local tensors are counted once the coarse pass has placed them; createTrainingField checks again then.
  const note = layout.localTensors && !settings.levels ? `${layout.label}'s local tensors are counted once the coarse pass has placed them` : null;
  return {
    finalGrid,
    parameters,
    images,
    batch,
    trainChunkRows,
    total: parameters + images + batch,
    problem,
    note,
    contracted: isWarped(frame.settings),
    ndc: !!frame.settings.ndc,
  };
}

/**
 * Samples per training ray, as the sampling kernel takes them: from the ray's entry into the box
 * (clamped to the near and far planes) to its exit, one per `step`, at most `cap`. Mean and
 * standard deviation over all rays, and the mean over rays that cross the box. Rays of a 16x16
 * lattice of pixels in up to 64 evenly spread cameras; lens distortion is ignored.
 */
export function samplesPerRayStats(
  cameras: PosedView[],
  box: Box,
  nearFar: [number, number],
  step: number,
  cap: number,
  /** How world maps to the field: a warped (contracted or NDC) field marches every ray from the near plane, as the kernel does. */
  warp: SpaceWarp = {},
): { mean: number; std: number; meanOfHits: number } {
  const LATTICE = 16;
  const stride = Math.max(1, Math.floor(cameras.length / 64));
  let total = 0;
  let squares = 0;
  let hits = 0;
  let rays = 0;
  for (let c = 0; c < cameras.length; c += stride) {
    const cam = cameras[c]!;
    const m = cam.c2w;
    const o = [m[3]!, m[7]!, m[11]!];
    for (let j = 0; j < LATTICE; j++) {
      for (let i = 0; i < LATTICE; i++) {
        const x = (((i + 0.5) / LATTICE) * cam.width - cam.cx) / cam.fx;
        const y = (((j + 0.5) / LATTICE) * cam.height - cam.cy) / cam.fy;
        const len = Math.hypot(x, y, 1);
        const d = [0, 1, 2].map((r) => (m[4 * r]! * x + m[4 * r + 1]! * y + m[4 * r + 2]!) / len);
        let n = 0;
        if (isWarped(warp)) {
          for (let t = marchStart(warp, o, d, nearFar[0]); n < cap && t <= nearFar[1]; n++)
            t += marchStep(
              warp,
              [0, 1, 2].map((a) => o[a]! + d[a]! * t),
              step,
            );
        } else {
          const { enter, exit } = rayBoxSpan(o, d, box);
          const start = Math.min(Math.max(enter, nearFar[0]), nearFar[1]);
          n = Math.min(cap, Math.max(0, Math.ceil((exit - start) / step)));
        }
        total += n;
        squares += n * n;
        hits += n > 0 ? 1 : 0;
        rays++;
      }
    }
  }
  if (rays === 0) return { mean: cap, std: 0, meanOfHits: cap };
  const mean = total / rays;
  return { mean, std: Math.sqrt(Math.max(0, squares / rays - mean * mean)), meanOfHits: hits > 0 ? total / hits : 0 };
}

/** The final grid shrinks by this factor in voxels per step while it does not fit. */
const GRID_STEP = 0.8;
const MIN_BATCH = 256;

/**
 * A run sized for this adapter's limits (the studio's presets): the final grid shrinks until the
 * parameters fit one binding, and the batch halves until a batch's samples at the final grid do.
 * `changes` says what was changed, in words; empty when the run fits as asked. What cannot be
 * fixed this way (images larger than a binding) is left to estimateTrainingMemory's `problem`.
 */
export function fitToAdapter(settings: FieldSettings, opt: TrainOptions, ds: Dataset, maxBinding: number): { train: TrainOptions; changes: string[] } {
  const { box } = trainingFrame(ds, settings, opt);
  const train = { ...opt };
  const changes: string[] = [];
  const floatsAt = (voxels: number) => parameterFloats(settings, box, resolutionForVoxels(voxels, box));
  const gridText = (voxels: number) => resolutionForVoxels(voxels, box).join('×');
  if (floatsAt(train.nVoxelFinal) * 4 > maxBinding) {
    const asked = train.nVoxelFinal;
    while (train.nVoxelFinal * GRID_STEP >= train.nVoxelInit && floatsAt(train.nVoxelFinal) * 4 > maxBinding)
      train.nVoxelFinal = Math.floor(train.nVoxelFinal * GRID_STEP);
    changes.push(`final grid ${gridText(asked)} → ${gridText(train.nVoxelFinal)} (its parameters must fit one ${formatBytes(maxBinding)} binding)`);
  }
  const perRay = samplesPerRay(resolutionForVoxels(train.nVoxelFinal, box), settings.stepRatio) * LARGEST_SAMPLE_BYTES;
  if (train.batchSize * perRay > maxBinding) {
    const asked = train.batchSize;
    while (train.batchSize > MIN_BATCH && train.batchSize * perRay > maxBinding) train.batchSize = Math.max(MIN_BATCH, train.batchSize >> 1);
    changes.push(`batch ${asked} → ${train.batchSize} rays (a batch's samples must fit one binding)`);
  }
  return { train, changes };
}
