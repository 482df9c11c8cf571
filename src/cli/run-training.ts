// `train` for the CLI and the bench: the one training run (run/training-run.ts) watched on
// stderr, and its result as the JSON record reviewers script against (field names are stable:
// add, never rename).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodePng } from '../data/image-node.ts';
import type { Dataset, PosedView } from '../data/types.ts';
import type { RankPoint } from '../eval/rank-curve.ts';
import { refinedCaptureFiles } from '../export/capture.ts';
import { sceneFileSize } from '../formats/scene-file/writer.ts';
import { formatBytes } from '../gpu/context.ts';
import { nodeGpu } from '../gpu/node.ts';
import { type PoseErrors, type RunResult, TrainingRun } from '../run/training-run.ts';
import type { Checkpoint } from '../train/checkpoint.ts';
import { blursFactors, type ResolvedConfig } from '../train/config.ts';
import { cancelOnCtrlC, log, openDataset } from './node-io.ts';

export type { RankPoint };

export interface TrainingArgs {
  data: string;
  preset: string;
  cfg: ResolvedConfig;
  downscale: number;
  /** Every Nth view of a capture without a test split is held out (default 8; 0: train on all). */
  holdOut?: number;
  testViews: number;
  out?: string;
  /** Stop after this many iterations (the schedule stays that of the full run): speed probes. */
  stopAfter?: number;
  /** Time every kernel with GPU timestamps and report the totals. */
  profile?: boolean;
  /** Also evaluate the model slimmed to these ranks (rankCurve in the result). */
  ranks?: number[];
  /** Stop training once this much wall time is spent (benchmarks on software adapters). */
  budgetSeconds?: number;
  /** Skip the test-view evaluation (speed probes): no psnr/ssim in the result. */
  skipEvaluation?: boolean;
  /** An already loaded dataset (the bench shares one between configurations). */
  dataset?: Dataset;
  /** Write checkpoints to `file` every `every` iterations, on Ctrl-C and at the end. */
  checkpoint?: { file: string; every: number };
  /** Continue this checkpoint's run. */
  resumeFrom?: Checkpoint;
  /** Pose refinement: write the refined capture into this folder (export/capture.ts). */
  exportPoses?: string;
  /** Pose refinement: the training cameras' true poses, when the dataset's are perturbed (the bench). */
  truePoses?: PosedView[];
  /** Where the poses of plain photos are written (and found again on resume). */
  posesDir?: string;
}

/** Writes `bytes` to `file` atomically: a crash mid-write leaves the previous file intact. */
async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.partial`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

/** Parses "1,2,4" into sorted distinct positive integers; throws a message naming the flag. */
export function parseRanks(text: string, flag = '--ranks'): number[] {
  const ranks = text.split(',').map((t) => Number(t.trim()));
  if (!ranks.length || ranks.some((r) => !Number.isInteger(r) || r < 1))
    throw new Error(`${flag}: expected positive integers separated by commas, got "${text}"`);
  return [...new Set(ranks)].sort((a, b) => a - b);
}

/** One line per rank of a slimming curve. */
export function logRank(p: RankPoint): void {
  log(`rank ${p.rank}: psnr ${p.psnr.toFixed(2)} dB, ${p.params.toLocaleString()} parameters, ${p.bytes.toLocaleString()} bytes`);
}

/** Loads the data, trains, evaluates on the test views and optionally saves; returns the JSON record. */
export async function runTraining(args: TrainingArgs): Promise<Record<string, unknown>> {
  const { cfg } = args;
  const ds = args.dataset ?? (await openDataset(args.data, args.downscale, ['train', 'test'], args.holdOut, args.posesDir));
  const ctx = await nodeGpu();
  log(`adapter: ${ctx.adapter.label} (${ctx.adapter.vendor} ${ctx.adapter.architecture})`);
  // Ctrl-C stops after the current iteration (saving a checkpoint when asked to); a second one quits.
  const cancel = cancelOnCtrlC('stopping after this iteration (Ctrl-C again to quit at once)');
  const run = new TrainingRun(ctx, ds, cfg, {
    seed: cfg.train.seed,
    stopAfter: args.stopAfter,
    budgetSeconds: args.budgetSeconds,
    evaluation: args.skipEvaluation ? undefined : { views: args.testViews, ranks: args.ranks },
    profile: args.profile,
    save: args.out
      ? { sink: (bytes) => writeFile(args.out!, bytes), info: (result) => ({ dataset: args.data, ...trainingRecord(args, result, ctx.adapter.label) }) }
      : undefined,
    checkpoint: args.checkpoint ? { everyIterations: args.checkpoint.every, sink: (bytes) => writeAtomically(args.checkpoint!.file, bytes) } : undefined,
    resumeFrom: args.resumeFrom,
    truePoses: args.truePoses,
    signal: cancel.signal,
  });
  let lossAvg = 0;
  let tTrain = 0;
  const result = await run.run((e) => {
    switch (e.type) {
      case 'memory': {
        const m = e.estimate;
        if (m.problem) return;
        log(
          `memory estimate: up to ${formatBytes(m.total)}, every sample shaded (parameters at ${m.finalGrid.join('x')} ${formatBytes(m.parameters)}, images ${formatBytes(m.images)}, batch buffers up to ${formatBytes(m.batch)})${m.note ? `; ${m.note}` : ''}`,
        );
        return;
      }
      case 'prepare':
        return log(e.message);
      case 'note':
        return log(`note: ${e.message}`);
      case 'start':
        tTrain = performance.now();
        if (args.resumeFrom) log(`continuing from iteration ${args.resumeFrom.trainer.iter} of ${cfg.train.nIters}`);
        return log(
          `${args.preset}: grid ${e.field.grid.join('x')}, ${e.field.parameterCount.toLocaleString()} parameters, ${cfg.train.nIters} iterations of ${cfg.train.batchSize} rays`,
        );
      case 'step': {
        const s = e.step;
        lossAvg = lossAvg === 0 ? s.loss : 0.9 * lossAvg + 0.1 * s.loss;
        if (s.event) log(`iter ${s.iter}: ${s.event}`);
        if (s.iter % 50 === 0 || (s.iter < 50 && s.iter % 10 === 0) || s.iter === e.iters) {
          const sec = (performance.now() - tTrain) / 1000;
          const doneHere = s.iter - (args.resumeFrom?.trainer.iter ?? 0);
          const left = (sec / doneHere) * (e.iters - s.iter);
          const rank = cfg.train.rankIncremental ? `  rank ${s.rank}/${run.field!.maxRank}` : '';
          log(
            `iter ${s.iter}/${e.iters}  train psnr ${(-10 * Math.log10(lossAvg)).toFixed(2)}${rank}  samples ${s.samples} shaded ${s.shaded}  ${(doneHere / sec).toFixed(2)} it/s  ${left.toFixed(0)} s left`,
          );
        }
        return;
      }
      case 'evaluating':
        return log(`evaluating: view ${e.view}/${e.views}`);
      case 'rank':
        return logRank(e.point);
      case 'checkpoint':
        return log(
          `checkpoint after iteration ${e.iter}: ${formatBytes(e.bytes)} to ${args.checkpoint!.file} (training waited ${e.stallMs.toFixed(0)} ms, the write took ${e.writeMs.toFixed(0)} ms)`,
        );
      case 'checkpoint-failed':
        return log(
          `warning: the checkpoint after iteration ${e.iter} could not be written to ${args.checkpoint!.file} (${(e.error as Error).message}); training goes on`,
        );
    }
  });
  cancel.release();
  if (!result) throw new Error('training stopped before the field was made');
  const r = trainingRecord(args, result, ctx.adapter.label);
  if (result.savedBytes !== null) {
    r.bytes = result.savedBytes;
    log(`saved ${args.out}`);
  }
  if (result.poses) {
    const p = result.poses;
    const against = args.truePoses ? 'the true poses' : "the dataset's poses";
    log(
      `poses against ${against}: ${p.before.rotationDeg.toFixed(3)}° and ${p.before.translation.toFixed(4)} units before refinement, ${p.after.rotationDeg.toFixed(3)}° and ${p.after.translation.toFixed(4)} after`,
    );
    if (args.exportPoses) {
      const train = ds.splits.train!;
      const capture = await refinedCaptureFiles(
        p.refined,
        p.views.map((v) => train.images[v]!),
        p.views.map((v) => train.names[v]!),
        encodePng,
      );
      for (const [path, bytes] of capture.files) {
        await mkdir(join(args.exportPoses, dirname(path)), { recursive: true });
        await writeFile(join(args.exportPoses, path), bytes);
      }
      for (const n of capture.notes) log(`note: ${n}`);
      log(`refined cameras of ${p.refined.length} training views written to ${args.exportPoses} (transforms.json, sparse/0 and images/)`);
      (r.poses as Record<string, unknown>).exported = args.exportPoses;
    }
  }
  run.dispose();
  return r;
}

const roundErrors = (e: PoseErrors) => ({ rotationDeg: +e.rotationDeg.toFixed(4), translation: +e.translation.toFixed(5) });

/** The JSON record of a training run (the CLI's last stdout line, a bench row, a model file's info). */
function trainingRecord(args: TrainingArgs, result: RunResult, adapter: string): Record<string, unknown> {
  const { cfg } = args;
  const field = result.field;
  const r: Record<string, unknown> = {
    model: args.preset,
    iters: result.iters,
    // Rays per iteration (a compact export's fine-tune takes the run's batch).
    batch: cfg.train.batchSize,
    ...(result.stoppedEarly ? { partial: `${result.stoppedEarly} after ${result.iters} of ${cfg.train.nIters} iterations` } : {}),
    seconds: +result.seconds.toFixed(2),
    ...(field.settings.levels ? { coarseSeconds: +result.coarseSeconds.toFixed(2), tensors: field.settings.levels.map((l) => l.tensors) } : {}),
    secondsPerIteration: +(result.trainSeconds / Math.max(1, result.iters)).toFixed(3),
    ...(result.evaluation
      ? {
          psnr: +result.evaluation.psnr.toFixed(3),
          ssim: +result.evaluation.ssim.toFixed(4),
          testViews: result.evaluation.views,
          evalSplit: result.evaluation.split,
        }
      : { evaluation: 'skipped' }),
    params: field.parameterCountAtRank(field.rank),
    // The fp16 scene file of the trained field (export --precision fp16), for comparing sizes.
    sceneBytesFp16: sceneFileSize(field.settings, field.box, field.grid, field.mask, { precision: 'fp16', rank: field.rank }, field.lattice).bytes,
    // Strivec: each level's line parameters (density and appearance), and how its tensors were placed.
    ...(field.parametersByLevel ? { paramsByLevel: field.parametersByLevel, placement: cfg.train.strivecPlacement } : {}),
    ...(cfg.train.rankIncremental ? { rank: field.rank, maxRank: field.maxRank, rankSteps: result.rankSteps } : {}),
    ...(result.trainViews !== null ? { trainViews: result.trainViews } : {}),
    // The scene contraction's inner box (unbounded scenes); absent when the field is the box only.
    ...(field.settings.contraction ? { contraction: field.settings.contraction } : {}),
    // The NDC reference camera (forward-facing captures); absent unless the field is in NDC.
    ...(field.settings.ndc ? { ndc: field.settings.ndc } : {}),
    // The coarse-to-fine blur widths (world units, knots over training); absent without the blur.
    ...(blursFactors(cfg.train) ? { blurSchedule: cfg.train.blurSchedule } : {}),
    // Pose refinement's supervision: the images' blur widths and the edge-guided loss; absent when off.
    ...(cfg.train.imageBlurSchedule.some((w) => w > 0) ? { imageBlurSchedule: cfg.train.imageBlurSchedule } : {}),
    ...(cfg.train.edgeLoss ? { edgeLoss: true } : {}),
    // Pose refinement: the refined cameras' errors against the true poses (the bench's) or the
    // dataset's (how far refinement moved them), before and after; absent without refinement.
    ...(result.poses
      ? {
          poses: {
            cameras: result.poses.refined.length,
            reference: args.truePoses ? 'truth' : 'dataset',
            before: roundErrors(result.poses.before),
            after: roundErrors(result.poses.after),
          },
        }
      : {}),
    samplesPerSecond: Math.round(result.samplesProcessed / result.trainSeconds),
    submissionsPerIteration: result.submissionsPerIteration,
    readbacksPerIteration: result.readbacksPerIteration,
    throttlesPerIteration: result.throttlesPerIteration,
    grid: field.grid,
    peakGpuBytes: result.peakGpuBytes,
    adapter,
  };
  if (result.rankCurve) r.rankCurve = result.rankCurve;
  if (result.kernelMs) r.kernelMs = result.kernelMs;
  if (result.resumedFrom !== null) r.resumedFrom = result.resumedFrom;
  if (args.checkpoint) r.checkpoints = result.checkpoints;
  return r;
}
