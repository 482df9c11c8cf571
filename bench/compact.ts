// npm run bench:compact -- --model FILE --data DIR [--downscale K] [--test-views N] [--ranks 1,2,4,8,16]
//   [--keep S] [--prune S] [--texels-per-codeword N] [--kmeans-iters N]
// Compresses a trained model (compress/: texel importance over the training views, planes pruned,
// vector-quantised and kept in 8 bits) and prints, beside the model's own fp32 and 8-bit scene
// files, the compact file's bytes (each section deflated as the writer stores it) and the held-out
// PSNR of what it decodes to, at every rank asked for (a SlimmeRF model's prefixes), with the
// seconds each step took and the adapter. No fine-tune yet: these are the quantisation's own losses.
import { parseArgs } from 'node:util';
import { loadModel, log, openDataset } from '../src/cli/node-io.ts';
import { texelImportance } from '../src/compress/importance.ts';
import { DEFAULT_QUANTISE, decodeCompact, fateCounts, quantiseField } from '../src/compress/quantise.ts';
import { evenlySpacedViews } from '../src/data/views.ts';
import { evaluate } from '../src/eval/evaluate.ts';
import { TensorField } from '../src/field/field.ts';
import { maxRankOf } from '../src/field/rank.ts';
import { compactSections, deflatedSizes } from '../src/formats/scene-file/compact.ts';
import { sceneFileSize } from '../src/formats/scene-file/writer.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { ViewRenderer } from '../src/render/view-renderer.ts';

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
  },
});
if (!a.model || !a.data) throw new Error('usage: npm run bench:compact -- --model FILE --data DIR [--downscale K] [--test-views N] [--ranks 1,2,4]');
const ctx = await nodeGpu();
const { field } = await loadModel(ctx, a.model);
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
};
const seconds = (t0: number) => +((performance.now() - t0) / 1000).toFixed(1);

let t0 = performance.now();
const importance = await texelImportance(ctx, field, ds.splits.train!.cameras, {
  nearFar: ds.nearFar,
  onProgress: (i, n) => i % 20 === 0 && log(`importance: view ${i}/${n}`),
});
const importanceSeconds = seconds(t0);
t0 = performance.now();
const values = await field.arena.download(ctx);
const compact = await quantiseField(ctx, { settings: st, box: field.box, grid: field.grid, values, mask: field.mask }, importance, opts);
const quantiseSeconds = seconds(t0);
t0 = performance.now();
const sections = compactSections(compact);
const sizes = deflatedSizes(sections);
const packSeconds = seconds(t0);
t0 = performance.now();
const decoded = await TensorField.make(ctx, st, field.box, field.grid, 1, decodeCompact(compact));
decoded.setMask(field.mask);
const decodeSeconds = seconds(t0);

const fp32 = sceneFileSize(st, field.box, field.grid, field.mask, { precision: 'fp32' }).bytes;
const rows = [];
for (const rank of ranks) {
  // The sections a reader needs for this rank: the head, and every block starting below it.
  const blocks = compact.rankBlocks.filter(([first]) => first < rank).length;
  const bytes = sizes.slice(0, 1 + blocks).reduce((x, y) => x + y, 0);
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
console.log(
  JSON.stringify({
    model: a.model,
    kind: st.kind,
    slimmable: !!st.slimmable,
    params: field.parameterCountAtRank(field.rank),
    sceneBytesFp32: fp32,
    options: { ...opts },
    texels: fateCounts(compact),
    sections: sections.map((s, i) => ({ label: s.label, raw: s.raw.length, deflated: sizes[i] })),
    seconds: { importance: importanceSeconds, quantise: quantiseSeconds, pack: packSeconds, decode: decodeSeconds },
    ranks: rows,
    adapter: ctx.adapter.label,
  }),
);
process.exit(0);
