// The memory estimate shown before training: exact parameter arena, and a refusal that names
// what to change when the final grid cannot fit one binding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../src/data/procedural.ts';
import { resolveConfig } from '../src/fields/config.ts';
import { estimateTrainingMemory } from '../src/fields/memory.ts';
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
