// A compact scene file from a trained field: the importance of its texels over the training views
// (compress/importance.ts), its planes quantised by it (compress/quantise.ts), a short fine-tune
// of the quantised field on the training images (compress/finetune.ts), then written
// (formats/scene-file/compact.ts). One job for the CLI's `export --precision compact` and the
// studio's Export panel, with its progress by stage, cancellable between steps.
import { finetuneCompact } from '../compress/finetune.ts';
import { texelImportance } from '../compress/importance.ts';
import { type CompactModel, DEFAULT_QUANTISE, fateCounts, type QuantiseOptions, quantiseField } from '../compress/quantise.ts';
import type { Dataset } from '../data/types.ts';
import type { TensorField } from '../field/field.ts';
import { maxRankOf, truncateToRank } from '../field/rank.ts';
import { sectionSpans } from '../formats/container.ts';
import { exportCompactScene } from '../formats/scene-file/writer.ts';
import type { JobControl } from '../job/job.ts';

export type CompactEvent = { stage: 'importance' | 'quantise' | 'finetune'; done: number; total: number };

export interface CompactOptions extends JobControl<CompactEvent> {
  /** The capture the field learned from: its training views' rays weigh the texels, its images fine-tune the quantised field. */
  dataset: Dataset;
  /** Fine-tune iterations after quantisation (0: none; compress/finetune.ts defaultFinetuneIters) and their batch of rays. */
  finetuneIters: number;
  finetuneBatch?: number;
  /** Rank groups to keep (default all). */
  rank?: number;
  info?: Record<string, unknown>;
  quantise?: Partial<Omit<QuantiseOptions, 'signal' | 'onProgress'>>;
}

export interface CompactScene {
  bytes: Uint8Array;
  model: CompactModel;
  /** Bytes a reader needs for each rank 1 … ranks (a SlimmeRF file's prefixes; a plain file needs them all for any). */
  prefixBytes: number[];
  texels: { pruned: number; coded: number; kept: number };
  seconds: { importance: number; quantise: number; finetune: number; write: number };
}

export async function compactScene(field: TensorField, opts: CompactOptions): Promise<CompactScene> {
  const ctx = field.ctx;
  const clock = () => performance.now() / 1000;
  let t = clock();
  const ds = opts.dataset;
  const importance = await texelImportance(ctx, field, ds.splits.train!.cameras, {
    nearFar: ds.nearFar,
    signal: opts.signal,
    onProgress: (done, total) => opts.onEvent?.({ stage: 'importance', done, total }),
  });
  const importanceSeconds = clock() - t;
  t = clock();
  const all = await field.arena.download(ctx);
  const rank = Math.min(opts.rank ?? field.rank, field.rank);
  const { settings, values } = rank < maxRankOf(field.settings) ? truncateToRank(field.settings, all, rank) : { settings: field.settings, values: all };
  const quantised = await quantiseField(ctx, { settings, box: field.box, grid: field.grid, values, mask: field.mask }, importance, {
    ...DEFAULT_QUANTISE,
    ...opts.quantise,
    signal: opts.signal,
    onProgress: (done, total) => opts.onEvent?.({ stage: 'quantise', done, total }),
  });
  const quantiseSeconds = clock() - t;
  t = clock();
  const model =
    opts.finetuneIters > 0
      ? await finetuneCompact(ctx, quantised, values, importance, ds, {
          iters: opts.finetuneIters,
          batchSize: opts.finetuneBatch,
          signal: opts.signal,
          onProgress: (done, total) => opts.onEvent?.({ stage: 'finetune', done, total }),
        })
      : quantised;
  const finetuneSeconds = clock() - t;
  t = clock();
  const bytes = exportCompactScene(model, opts.info);
  const ends = sectionSpans(bytes).map((s) => s.at + 8 + s.length);
  const blocks = model.rankBlocks.length;
  // The last `blocks` sections are the rank blocks; rank r needs every block that starts below it.
  const prefixBytes = Array.from({ length: maxRankOf(settings) }, (_, r) => ends[ends.length - blocks + model.rankBlocks.findIndex(([, end]) => end > r)]!);
  const { pruned, coded, kept } = fateCounts(model);
  const round = (s: number) => +s.toFixed(2);
  return {
    bytes,
    model,
    prefixBytes,
    texels: { pruned, coded, kept },
    seconds: { importance: round(importanceSeconds), quantise: round(quantiseSeconds), finetune: round(finetuneSeconds), write: round(clock() - t) },
  };
}
