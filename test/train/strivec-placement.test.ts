// Strivec's placement at its own size (src/train/strivec-placement.ts): the surface marking kernel
// against its f64 reference on a small VM field seen by two cameras (marks agree wherever a float
// rounding cannot decide them; interiors behind the first surface unmarked); and the preset rule:
// the reference's lattices and lines in cells of the run's final grid, explicit ranges winning.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RefModel } from '../../src/field/field.ref.ts';
import { TensorField } from '../../src/field/field.ts';
import type { Box, Vec3 } from '../../src/field/geometry.ts';
import { levelLineSamples, placeTensors } from '../../src/field/layouts/strivec-lattice.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { DEFAULT_TRAIN, resolveConfig } from '../../src/train/config.ts';
import { SURFACE_WEIGHT, strivecLattice, surfacePoints } from '../../src/train/strivec-placement.ts';
import { refSurfaceMarks } from '../../src/train/surface-marks.ref.ts';
import { pixelRays, SEEN_BOX, SEEN_NEAR_FAR, SEEN_VIEWS, seenSettings } from '../fixtures/small-fields.ts';

test('surface marks: the GPU marks the lattice points of samples carrying at least 1% of a pixel, as the f64 reference does', async () => {
  const ctx = await nodeGpu();
  // Opaque enough that rays end inside the box: what lies behind the first surface gets no light.
  const box = SEEN_BOX;
  const settings = seenSettings('vm');
  const grid: Vec3 = [7, 6, 5];
  const field = new TensorField(ctx, settings, box, grid, 7);
  try {
    const model: RefModel = { settings, box, grid, values: await field.arena.download(ctx) };
    const views = SEEN_VIEWS;
    const nearFar = SEEN_NEAR_FAR;
    const dims: Vec3 = [13, 11, 9];
    const got = await surfacePoints(ctx, field, views, nearFar, dims);
    const rays = pixelRays(views);
    const ref = refSurfaceMarks(model, rays, ...nearFar, dims, SURFACE_WEIGHT);
    const marked = ref.marks.reduce((n, m) => n + m, 0);
    assert.ok(marked > 20 && marked < 0.6 * ref.marks.length, `the reference marks ${marked} of ${ref.marks.length} points`);
    const wrong = [...got.keys()].filter((j) => got[j] !== ref.marks[j] && !ref.doubtful[j]);
    assert.deepEqual(wrong, [], 'points marked differently where no rounding could decide');
    const agree = [...got.keys()].filter((j) => got[j] === ref.marks[j]).length;
    assert.ok(agree >= 0.98 * got.length, `${agree} of ${got.length} points agree`);
  } finally {
    field.destroy();
  }
});

test('the preset rule: the reference lattices and lines in cells of the final grid; vox_range and local_range still win', () => {
  const settings = MODEL_PRESETS.strivec;
  const lego: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };
  // The reference's own scale: 300³ over lego's box gives its 0.4 / 0.2 / 0.1 (to the grid's
  // align-corners cell, 3/299) and 121 / 61 / 31 samples.
  const full = strivecLattice(settings, { ...DEFAULT_TRAIN, nVoxelFinal: 300 ** 3 }, lego);
  for (const [l, v] of full.spacings.entries()) {
    assert.ok(Math.abs(v / [0.4, 0.2, 0.1][l]! - 1) < 0.005, `level ${l + 1}: ${v}`);
    assert.ok(Math.abs(full.halfSizes[l]! / v - 0.75) < 1e-12);
  }
  assert.equal(full.samplesPerCell, 2);
  const { levels } = placeTensors(new Float32Array([0, 0, 0, 0.5, 0.5, 0.5]), full.spacings, full.halfSizes, full.samplesPerCell);
  assert.deepEqual(
    levels.map((lv) => levelLineSamples(lv, lego, [300, 300, 300])),
    [121, 61, 31],
  );
  // A run with a 48³ final grid keeps the ratios: 40, 20 and 10 of its cells (3/47 each).
  const slim = strivecLattice(settings, { ...DEFAULT_TRAIN, nVoxelFinal: 48 ** 3 }, lego);
  for (const [l, v] of slim.spacings.entries()) assert.ok(Math.abs(v - ([40, 20, 10][l]! * 3) / 47) < 1e-9, `level ${l + 1}: ${v}`);
  const explicit = strivecLattice(settings, { ...DEFAULT_TRAIN, nVoxelFinal: 48 ** 3, voxRange: [0.4, 0.2, 0.1], localRange: [0.3, 0.15, 0.075] }, lego);
  assert.deepEqual(explicit, { spacings: [0.4, 0.2, 0.1], halfSizes: [0.3, 0.15, 0.075], samplesPerCell: 1 });
  // line_samples_per_cell sets the lines either way.
  assert.equal(strivecLattice(settings, { ...DEFAULT_TRAIN, nVoxelFinal: 48 ** 3, lineSamplesPerCell: 1 }, lego).samplesPerCell, 1);
  assert.equal(strivecLattice(settings, { ...DEFAULT_TRAIN, nVoxelFinal: 48 ** 3, voxRange: [0.4, 0.2, 0.1], lineSamplesPerCell: 3 }, lego).samplesPerCell, 3);
  assert.throws(() => resolveConfig('strivec', { line_samples_per_cell: 9 }), /line_samples_per_cell/);
});
