// Shared steps of the CLI commands: loading data, building, saving and loading models.
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadDataset } from '../data/loaders.ts';
import { nodeFolderSource } from '../data/node-source.ts';
import { proceduralDataset } from '../data/procedural.ts';
import type { Dataset, Split } from '../data/types.ts';
import type { GpuContext } from '../gpu/context.ts';
import { decodeImageNode } from '../io/image-node.ts';
import { decodeModel, type ModelData } from '../io/model-file.ts';
import type { ResolvedConfig } from '../fields/config.ts';
import { createTrainingField } from '../fields/coarse.ts';
import { maxRankOf, TensorField } from '../fields/tensorf.ts';
import { isSceneFile, readScene, type SceneModel } from '../io/scene-file.ts';
import { encodeFieldModel } from '../io/field-model.ts';
export type { RankPoint };
import { evaluate, evaluateRanks, type RankPoint, testViewIndices, ViewRenderer } from '../fields/evaluation.ts';
import { Trainer } from '../fields/trainer.ts';
import { nodeGpu } from '../gpu/node.ts';
import { formatBytes, LimitError } from '../gpu/context.ts';
import { estimateTrainingMemory } from '../fields/memory.ts';
import { RENDER_RAYS } from '../fields/render-batch.ts';

export const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** `--data builtin:demo` is the procedural scene; anything else a dataset folder. */
export async function openDataset(dir: string, downscale: number, splits: ('train' | 'test')[]): Promise<Dataset> {
  if (dir === 'builtin:demo') return proceduralDataset({ size: Math.max(16, Math.round(128 / downscale)) });
  let last = -1;
  const ds = await loadDataset(nodeFolderSource(dir), {
    downscale,
    decode: decodeImageNode,
    splits,
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct >= last + 10 || done === total) {
        last = pct;
        log(`loading ${basename(dir)}: ${done}/${total} images`);
      }
    },
  });
  for (const w of ds.warnings) log(`warning: ${w}`);
  return ds;
}

export async function saveModel(field: TensorField, file: string, info: Record<string, unknown>): Promise<number> {
  const bytes = encodeFieldModel(field, await field.arena.download(field.ctx), info);
  await writeFile(file, bytes);
  return bytes.length;
}

function fromModelFile(data: ModelData): SceneModel {
  const h = data.header;
  const mask = h.mask && data.maskBits ? { dims: h.mask.dims, box: h.mask.box, bits: data.maskBits } : null;
  return { settings: h.settings, box: h.box, grid: h.grid, values: data.values, mask, rank: maxRankOf(h.settings) };
}

export async function loadModel(ctx: GpuContext, file: string): Promise<{ field: TensorField; bytes: number }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  // A scene file (compact export) or a model file (training output): both rebuild the same field.
  const m = isSceneFile(bytes) ? readScene(bytes, file).model : fromModelFile(decodeModel(bytes, file));
  let field: TensorField;
  try {
    field = new TensorField(ctx, m.settings, m.box, m.grid, 1, m.values);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (m.mask) field.setMask(m.mask);
  return { field, bytes: bytes.length };
}

export interface TrainingRun {
  data: string;
  preset: string;
  cfg: ResolvedConfig;
  downscale: number;
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
}

/** evaluateRanks with progress on stderr. */
export function evaluateRanksLogged(field: TensorField, renderer: ViewRenderer, ds: Dataset, split: Split, views: number[], ranks: number[]): Promise<RankPoint[]> {
  if (ranks.some((r) => r > field.rank)) log(`ranks above ${field.rank} skipped: the model has ${field.rank} trained rank groups; rank ${field.rank} evaluated instead`);
  return evaluateRanks(renderer, ds, split, views, ranks, (p) =>
    log(`rank ${p.rank}: psnr ${p.psnr.toFixed(2)} dB, ${p.params.toLocaleString()} parameters, ${p.bytes.toLocaleString()} bytes`),
  );
}

/** Parses "1,2,4" into sorted distinct positive integers; throws a message naming the flag. */
export function parseRanks(text: string, flag = '--ranks'): number[] {
  const ranks = text.split(',').map((t) => Number(t.trim()));
  if (!ranks.length || ranks.some((r) => !Number.isInteger(r) || r < 1)) throw new Error(`${flag}: expected positive integers separated by commas, got "${text}"`);
  return [...new Set(ranks)].sort((a, b) => a - b);
}

/** Loads the data, trains, evaluates on the test views and optionally saves: the CLI's train and the bench. */
export async function runTraining(run: TrainingRun): Promise<Record<string, unknown>> {
  const { cfg } = run;
  const ds = run.dataset ?? (await openDataset(run.data, run.downscale, ['train', 'test']));
  const ctx = await nodeGpu();
  log(`adapter: ${ctx.adapter.label} (${ctx.adapter.vendor} ${ctx.adapter.architecture})`);
  const mem = estimateTrainingMemory(cfg.settings, cfg.train, ds, ctx.maxBinding);
  if (mem.problem) throw new LimitError(mem.problem);
  log(`memory estimate: up to ${formatBytes(mem.total)}, every sample shaded (parameters at ${mem.finalGrid.join('x')} ${formatBytes(mem.parameters)}, images ${formatBytes(mem.images)}, batch buffers up to ${formatBytes(mem.batch)})${mem.note ? `; ${mem.note}` : ''}`);
  const peakBefore = ctx.allocatedBytes;
  ctx.peakBytes = ctx.allocatedBytes;
  const t0 = performance.now();
  const field = await createTrainingField(ctx, ds, cfg, cfg.train.seed, (p) => log(p.message));
  const tTrain = performance.now();
  const coarseSeconds = (tTrain - t0) / 1000;
  const trainer = new Trainer(ctx, ds, field, cfg.train);
  log(`${run.preset}: grid ${field.grid.join('x')}, ${field.parameterCount.toLocaleString()} parameters, ${cfg.train.nIters} iterations of ${cfg.train.batchSize} rays`);
  if (run.profile && !ctx.enableProfiling()) log('note: this adapter has no timestamp queries; no kernel profile');
  let iters = Math.min(cfg.train.nIters, run.stopAfter ?? Infinity);
  let lossAvg = 0;
  const rankSteps: number[] = [];
  let why = 'stopped';
  for (let i = 0; i < iters; i++) {
    if (run.budgetSeconds !== undefined && performance.now() - t0 > run.budgetSeconds * 1000) {
      why = `time budget of ${Math.round(run.budgetSeconds)} s spent`;
      log(`iter ${i}: ${why}; stopping`);
      iters = i;
      break;
    }
    const rankBefore = field.rank;
    const s = await trainer.step();
    if (s.rank > rankBefore) rankSteps.push(s.iter);
    lossAvg = i === 0 ? s.loss : 0.9 * lossAvg + 0.1 * s.loss;
    if (s.event) log(`iter ${s.iter}: ${s.event}`);
    if (s.iter % 50 === 0 || (s.iter < 50 && s.iter % 10 === 0) || s.iter === iters) {
      const sec = (performance.now() - tTrain) / 1000;
      const left = (sec / s.iter) * (iters - s.iter);
      const rank = cfg.train.rankIncremental ? `  rank ${s.rank}/${field.maxRank}` : '';
      log(`iter ${s.iter}/${iters}  train psnr ${(-10 * Math.log10(lossAvg)).toFixed(2)}${rank}  samples ${s.samples} shaded ${s.shaded}  ${(s.iter / sec).toFixed(2)} it/s  ${left.toFixed(0)} s left`);
    }
  }
  // Seconds include Strivec's coarse pass; the per-iteration figures do not.
  const seconds = (performance.now() - t0) / 1000;
  const trainSeconds = (performance.now() - tTrain) / 1000;
  const split = ds.splits.test ?? ds.splits.train!;
  if (!ds.splits.test) log('note: the dataset has no test split; evaluating on training views');
  const views = testViewIndices(split.cameras.length, run.testViews);
  const renderer = new ViewRenderer(ctx, field, ds.nearFar, RENDER_RAYS, trainer.batch);
  const ev = run.skipEvaluation ? null : await evaluate(renderer, ds, split, views, undefined, (i, n) => log(`evaluating: view ${i}/${n}`));
  const result: Record<string, unknown> = {
    model: run.preset,
    iters,
    ...(iters < cfg.train.nIters ? { partial: `${why} after ${iters} of ${cfg.train.nIters} iterations` } : {}),
    seconds: +seconds.toFixed(2),
    ...(cfg.settings.kind === 'strivec' ? { coarseSeconds: +coarseSeconds.toFixed(2), tensors: field.settings.levels!.map((l) => l.tensors) } : {}),
    secondsPerIteration: +(trainSeconds / Math.max(1, iters)).toFixed(3),
    ...(ev
      ? { psnr: +ev.psnr.toFixed(3), ssim: +ev.ssim.toFixed(4), testViews: ev.views, evalSplit: ds.splits.test ? 'test' : 'train' }
      : { evaluation: 'skipped' }),
    params: field.parameterCountAtRank(field.rank),
    ...(cfg.train.rankIncremental ? { rank: field.rank, maxRank: field.maxRank, rankSteps } : {}),
    ...(cfg.train.trainViews > 0 ? { trainViews: trainer.trainViewIndices!.length } : {}),
    samplesPerSecond: Math.round(trainer.samplesProcessed / trainSeconds),
    grid: field.grid,
    peakGpuBytes: ctx.peakBytes - peakBefore,
    adapter: ctx.adapter.label,
  };
  if (run.ranks && ev) result.rankCurve = await evaluateRanksLogged(field, renderer, ds, split, views, run.ranks);
  if (ctx.profiler) {
    const rep = await ctx.profiler.report();
    result.kernelMs = Object.fromEntries(rep.slice(0, 10).map((r) => [r.label, Math.round(r.ms)]));
    ctx.profiler.reset();
  }
  if (run.out) {
    result.bytes = await saveModel(field, run.out, { dataset: run.data, ...result });
    log(`saved ${run.out}`);
  }
  renderer.destroy(false);
  trainer.destroy();
  field.destroy();
  return result;
}
