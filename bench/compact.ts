// npm run bench:compact -- --model FILE --data DIR [--downscale K] [--test-views N] [--ranks 1,2,4,8,16]
//   [--keep S] [--prune S] [--texels-per-codeword N] [--kmeans-iters N] [--single-block]
//   [--finetune-iters N] [--batch N]
// Writes a trained model's compact scene file as the CLI does (run/compact-scene.ts: texel
// importance over the training views, planes pruned, vector-quantised and kept in 8 bits, the
// quantised field fine-tuned: by default for a quarter of the model's recorded iterations) and
// prints, beside the model's own fp32, fp16 and 8-bit scene files, the bytes a reader needs and the
// held-out PSNR of what the file decodes to at every rank asked for (a SlimmeRF model's prefixes),
// each section's bytes, the seconds of each step and the adapter. --single-block codes a SlimmeRF
// model's ranks as one block (one codebook over all ranks, no streaming), for the comparison;
// --finetune-iters 0 shows the quantisation's own losses. Each section's size under Brotli (quality
// 11) is printed beside DEFLATE's, to judge a stronger coder.
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants } from 'node:zlib';
import { loadModel, log, openDataset } from '../src/cli/node-io.ts';
import { defaultFinetuneIters, FINETUNE_BATCH } from '../src/compress/finetune.ts';
import { DEFAULT_QUANTISE, fateCounts } from '../src/compress/quantise.ts';
import { evenlySpacedViews } from '../src/data/views.ts';
import { evaluate } from '../src/eval/evaluate.ts';
import { maxRankOf } from '../src/field/rank.ts';
import { compactSections, deflatedSizes } from '../src/formats/scene-file/compact.ts';
import { readScene } from '../src/formats/scene-file/reader.ts';
import { sceneFileSize } from '../src/formats/scene-file/writer.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { ViewRenderer } from '../src/render/view-renderer.ts';
import { compactScene } from '../src/run/compact-scene.ts';
import { fieldFromModel } from '../src/run/models.ts';

const { values: a } = parseArgs({
  args: process.argv.slice(2),
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    downscale: { type: 'string', default: '16' },
    'test-views': { type: 'string', default: '5' },
    ranks: { type: 'string' },
    keep: { type: 'string' },
    prune: { type: 'string' },
    'texels-per-codeword': { type: 'string' },
    'kmeans-iters': { type: 'string' },
    'single-block': { type: 'boolean' },
    'finetune-iters': { type: 'string' },
    batch: { type: 'string' },
  },
});
if (!a.model || !a.data) throw new Error('usage: npm run bench:compact -- --model FILE --data DIR [--downscale K] [--test-views N] [--ranks 1,2,4]');
const ctx = await nodeGpu();
const { field, info } = await loadModel(ctx, a.model);
const ds = await openDataset(a.data, Number(a.downscale), ['train', 'test']);
const test = ds.splits.test ?? ds.splits.train!;
const views = evenlySpacedViews(test.cameras.length, Number(a['test-views']));
const st = field.settings;
const ranks = a.ranks ? a.ranks.split(',').map(Number) : [maxRankOf(st)];
const opts = {
  ...DEFAULT_QUANTISE,
  ...(a.keep ? { keepShare: Number(a.keep) } : {}),
  ...(a.prune ? { pruneShare: Number(a.prune) } : {}),
  ...(a['texels-per-codeword'] ? { texelsPerCodeword: Number(a['texels-per-codeword']) } : {}),
  ...(a['kmeans-iters'] ? { kmeansIterations: Number(a['kmeans-iters']) } : {}),
  ...(a['single-block'] ? { singleBlock: true } : {}),
};
const finetuneIters = a['finetune-iters'] ? Number(a['finetune-iters']) : defaultFinetuneIters(typeof info.iters === 'number' ? info.iters : undefined);
const finetuneBatch = a.batch ? Number(a.batch) : typeof info.batch === 'number' ? info.batch : FINETUNE_BATCH;
const seconds = (t0: number) => +((performance.now() - t0) / 1000).toFixed(1);

const t0 = performance.now();
const c = await compactScene(field, {
  dataset: ds,
  finetuneIters,
  finetuneBatch,
  info: { source: a.model },
  quantise: opts,
  onEvent: (e) => (e.done === e.total || (e.stage === 'finetune' && e.done % 10 === 0)) && log(`compact: ${e.stage} ${e.done}/${e.total}`),
});
const compactSeconds = seconds(t0);
const t1 = performance.now();
const { model } = readScene(c.bytes, 'compact');
const decoded = await fieldFromModel(ctx, model, 'compact');
const decodeSeconds = seconds(t1);

const fp32 = sceneFileSize(st, field.box, field.grid, field.mask, { precision: 'fp32' }).bytes;
const rows = [];
for (const rank of ranks) {
  const bytes = c.prefixBytes[rank - 1]!;
  const before = await evaluate(new ViewRenderer(ctx, field, ds.nearFar), ds, test, views, rank);
  const after = await evaluate(new ViewRenderer(ctx, decoded, ds.nearFar), ds, test, views, rank);
  const at = (precision: 'fp16' | 'int8') => sceneFileSize(st, field.box, field.grid, field.mask, { precision, rank }).bytes;
  rows.push({
    rank,
    psnr: +before.psnr.toFixed(3),
    compactPsnr: +after.psnr.toFixed(3),
    sceneBytesFp16: at('fp16'),
    sceneBytesInt8AtMost: at('int8'),
    compactBytes: bytes,
    ofFp32: +(bytes / fp32).toFixed(4),
  });
  log(JSON.stringify(rows.at(-1)));
}
const sections = compactSections(c.model);
const sizes = deflatedSizes(sections);
console.log(
  JSON.stringify({
    model: a.model,
    kind: st.kind,
    slimmable: !!st.slimmable,
    params: field.parameterCountAtRank(field.rank),
    sceneBytesFp32: fp32,
    options: { ...opts, finetuneIters, finetuneBatch },
    texels: fateCounts(c.model),
    bytes: c.bytes.length,
    // Brotli at its strongest, for the "would a stronger coder pay" question (the file uses DEFLATE).
    sections: sections.map((s, i) => ({
      label: s.label,
      raw: s.raw.length,
      deflated: sizes[i],
      brotli: brotliCompressSync(s.raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: s.raw.length } }).length,
    })),
    seconds: { ...c.seconds, total: compactSeconds, readAndUpload: decodeSeconds },
    ranks: rows,
    adapter: ctx.adapter.label,
  }),
);
process.exit(0);
