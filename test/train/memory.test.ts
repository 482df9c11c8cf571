// The memory estimate shown before training: exact parameter arena, a refusal that names what to
// change when the final grid cannot fit one binding, and a bound on what a real run allocates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { resolutionForVoxels, samplesPerRay } from '../../src/field/geometry.ts';
import { fieldSegments } from '../../src/field/layout.ts';
import { formatBytes } from '../../src/gpu/context.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { ViewRenderer } from '../../src/render/view-renderer.ts';
import { TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';
import { estimateTrainingMemory, fitToAdapter } from '../../src/train/memory.ts';

test('memory estimate: parameter arena at the final grid, images, batch; refusal names the fix', () => {
  const ds = proceduralDataset({ size: 32, train: 10, test: 1 });
  const cfg = resolveConfig('vm192', { N_voxel_init: 32 ** 3, N_voxel_final: 64 ** 3, batch_size: 1024 });
  const est = estimateTrainingMemory(cfg.settings, cfg.train, ds, 2 ** 30);
  assert.equal(est.problem, null);
  const floats = fieldSegments(cfg.settings, { lo: ds.aabb[0], hi: ds.aabb[1] }, est.finalGrid).reduce((n, s) => n + Math.ceil(s.count / 64) * 64, 0);
  assert.equal(est.parameters, floats * 16, 'values, gradients and two Adam moments');
  assert.equal(est.images, 10 * 32 * 32 * 4);
  assert.ok(est.batch > 1024 * 32 && est.total === est.parameters + est.images + est.batch);
  const sparse = estimateTrainingMemory(cfg.settings, { ...cfg.train, trainViews: 3 }, ds, 2 ** 30);
  assert.equal(sparse.images, 3 * 32 * 32 * 4);

  const huge = resolveConfig('vm192', { N_voxel_final: 1024 ** 3 });
  const no = estimateTrainingMemory(huge.settings, huge.train, ds, 2 ** 27);
  assert.match(no.problem!.message, /final grid 1024x1024x1024 needs .* but this GPU binds at most 128 MiB$/);
  assert.deepEqual(no.problem!.advice, [{ change: 'final-grid' }, { change: 'components' }]);
});

test('fitToAdapter: the final grid and batch shrink to the binding size of this GPU, and say so', () => {
  const ds = proceduralDataset({ size: 32, train: 10, test: 1 });
  const cfg = resolveConfig('vm192', { N_voxel_init: 128 ** 3, N_voxel_final: 300 ** 3, batch_size: 4096 });
  // A GPU that binds 1 GiB takes the reference's quality run as it is.
  const roomy = fitToAdapter(cfg.settings, cfg.train, ds, 2 ** 30);
  assert.deepEqual(roomy.changes, []);
  assert.deepEqual(roomy.train, cfg.train);
  // One that binds 32 MiB gets a smaller final grid and batch, and the run then fits.
  const small = 2 ** 25;
  const fit = fitToAdapter(cfg.settings, cfg.train, ds, small);
  assert.ok(fit.train.nVoxelFinal < cfg.train.nVoxelFinal && fit.train.nVoxelFinal >= cfg.train.nVoxelInit);
  assert.equal(estimateTrainingMemory(cfg.settings, fit.train, ds, small).problem, null);
  assert.equal(fit.changes.length, 2);
  assert.match(fit.changes[0]!, /^final grid 300×300×300 → \d+×\d+×\d+ \(its parameters must fit one 32 MiB binding\)$/);
  assert.match(fit.changes[1]!, /^batch 4096 → \d+ rays/);
  const box = { lo: ds.aabb[0], hi: ds.aabb[1] };
  assert.ok(fit.train.batchSize * samplesPerRay(resolutionForVoxels(fit.train.nVoxelFinal, box), cfg.settings.stepRatio) * 16 <= small);
  // The largest grid that fits: one more step up would not.
  const floats = (v: number) => fieldSegments(cfg.settings, box, resolutionForVoxels(v, box)).reduce((n, s) => n + Math.ceil(s.count / 64) * 64, 0);
  assert.ok(floats(Math.floor(fit.train.nVoxelFinal / 0.8)) * 4 > small);
});

test('memory estimate bounds a run whose every sample is shaded, and is not far above it', async (t) => {
  // The worst case the estimate describes: no weight threshold (every sample shaded, as in the
  // density bootstrap), the final grid reached after one iteration, then a whole 64x64 view
  // (4096 rays, one rendering pass) through a renderer of its own, as the studio's live view.
  const ds = proceduralDataset({ size: 64, train: 10, test: 1 });
  const cfg = resolveConfig('vm48', {
    N_voxel_init: 16 ** 3,
    N_voxel_final: 24 ** 3,
    upsamp_list: [1],
    update_AlphaMask_list: [],
    featureC: 16,
    batch_size: 2048,
    n_iters: 4,
  });
  const settings = { ...cfg.settings, rayMarchWeightThres: -1 };
  const ctx = await nodeGpu();
  const est = estimateTrainingMemory(settings, cfg.train, ds, ctx.maxBinding);
  const before = ctx.allocatedBytes;
  ctx.peakBytes = before;
  const run = new TrainingRun(ctx, ds, { ...cfg, settings }, { seed: 1 });
  let shaded = 0;
  const result = await run.run((e) => {
    if (e.type !== 'step') return;
    assert.equal(e.step.shaded, e.step.samples, 'every sample is shaded');
    shaded = Math.max(shaded, e.step.shaded);
  });
  const renderer = new ViewRenderer(ctx, result!.field, ds.nearFar);
  await renderer.render(ds.splits.test!.cameras[0]!, 1);
  const peak = ctx.peakBytes - before;
  renderer.destroy();
  run.dispose();
  t.diagnostic(`estimate ${formatBytes(est.total)}, peak ${formatBytes(peak)} (${(peak / est.total).toFixed(2)}), up to ${shaded} shaded samples per batch`);
  assert.ok(peak <= est.total, `peak ${peak} above the estimate ${est.total}`);
  assert.ok(peak >= 0.6 * est.total, `peak ${peak} is far below the estimate ${est.total}`);
});
