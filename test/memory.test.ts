// The memory estimate shown before training: exact parameter arena, and a refusal that names
// what to change when the final grid cannot fit one binding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../src/data/procedural.ts';
import { resolveConfig } from '../src/fields/config.ts';
import { estimateTrainingMemory, fitToAdapter } from '../src/fields/memory.ts';
import { resolutionForVoxels, samplesPerRay } from '../src/fields/geometry.ts';
import { fieldSegments } from '../src/fields/tensorf.ts';

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
  assert.match(no.problem!, /final grid 1024x1024x1024 needs .* but this GPU binds at most 128 MiB: lower N_voxel_final/);
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
