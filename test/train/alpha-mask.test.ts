// The alpha-mask kernels against a TypeScript reference, the shrink, and the model file round
// trip (identical pixels after reloading) with its error messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { scoreView } from '../../src/eval/evaluate.ts';
import { psnr } from '../../src/eval/metrics.ts';
import { refDensityFeature } from '../../src/field/field.ref.ts';
import { TensorField } from '../../src/field/field.ts';
import { type Box, resolutionForVoxels, type Vec3 } from '../../src/field/geometry.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import type { FieldSettings } from '../../src/field/settings.ts';
import { decodeModel, encodeModel } from '../../src/formats/model-file.ts';
import { readScene } from '../../src/formats/scene-file/reader.ts';
import { exportScene } from '../../src/formats/scene-file/writer.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { TrainingRays } from '../../src/rays/raygen.ts';
import { ViewRenderer } from '../../src/render/view-renderer.ts';
import { buildAlphaMask, filterRays } from '../../src/train/alpha-mask.ts';
import { DEFAULT_TRAIN } from '../../src/train/config.ts';
import { Trainer } from '../../src/train/trainer.ts';

const settings: FieldSettings = {
  ...MODEL_PRESETS.vm48,
  shading: { ...MODEL_PRESETS.vm48.shading, featureC: 8 },
  // A strong, structured density so the mask is neither empty nor full.
  densityShift: -9.5,
  initStd: 0.5,
};

test('alpha mask: bits and occupied box match a max-pooled TypeScript reference; shrink crops consistently', async () => {
  const ctx = await nodeGpu();
  const ds = proceduralDataset({ size: 16, train: 4, test: 1 });
  const box: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };
  const grid: Vec3 = [9, 8, 7];
  const field = new TensorField(ctx, settings, box, grid, 3);
  const values = await field.arena.download(ctx);
  const trainer = new Trainer(ctx, ds, field, { ...DEFAULT_TRAIN, batchSize: 64 });
  // Reference: alpha = 1 - exp(-softplus(f + shift) * step) on the lattice, 3^3 max-pool, threshold.
  const model = { settings, box, grid, values };
  const step = field.step;
  const alpha: number[] = [];
  for (let z = 0; z < grid[2]; z++)
    for (let y = 0; y < grid[1]; y++)
      for (let x = 0; x < grid[0]; x++) {
        const f = refDensityFeature(model, [x, y, z]) + settings.densityShift;
        alpha.push(1 - Math.exp(-Math.log1p(Math.exp(f)) * step));
      }
  const at = (x: number, y: number, z: number) => alpha[(z * grid[1] + y) * grid[0] + x]!;
  const want: boolean[] = [];
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  for (let z = 0; z < grid[2]; z++)
    for (let y = 0; y < grid[1]; y++)
      for (let x = 0; x < grid[0]; x++) {
        let hit = false;
        for (let dz = -1; dz <= 1; dz++)
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              const [qx, qy, qz] = [x + dx, y + dy, z + dz];
              if (qx < 0 || qy < 0 || qz < 0 || qx >= grid[0] || qy >= grid[1] || qz >= grid[2]) continue;
              if (Math.min(at(qx, qy, qz), 1) >= settings.alphaMaskThres) hit = true;
            }
        want.push(hit);
        if (hit)
          [x, y, z].forEach((v, a) => {
            lo[a] = Math.min(lo[a]!, v);
            hi[a] = Math.max(hi[a]!, v);
          });
      }
  const occupied = want.filter(Boolean).length;
  assert.ok(occupied > 10 && occupied < want.length, `mask neither empty nor full (${occupied}/${want.length})`);
  const msg = await trainer.updateAlphaMask(0);
  const bits = field.mask!.bits;
  let mismatches = 0;
  want.forEach((w, i) => {
    if (w !== ((bits[i >> 5]! >>> (i & 31)) & 1) > 0) mismatches++;
  });
  // f32 vs f64 may flip a voxel sitting exactly at the threshold; nothing more.
  assert.ok(mismatches <= 1, `${mismatches} mask voxels differ`);
  assert.match(msg, /box shrunk/);
  const unit = 3 / 8;
  assert.ok(Math.abs(field.box.lo[0] - (-1.5 + lo[0]! * unit)) < 1e-6, 'shrunk box starts at the first occupied lattice point');
  assert.deepEqual(field.grid, [hi[0]! - lo[0]! + 1, hi[1]! - lo[1]! + 1, hi[2]! - lo[2]! + 1]);
  // Cropped factors still evaluate to the same density at the same world point.
  const after = await field.arena.download(ctx);
  const p = [0.1, -0.2, 0.05];
  const uOld = p.map((v, a) => (v - box.lo[a]!) / (3 / (grid[a]! - 1))) as Vec3;
  const uNew = p.map((v, a) => (v - field.box.lo[a]!) / ((field.box.hi[a]! - field.box.lo[a]!) / (field.grid[a]! - 1))) as Vec3;
  const fOld = refDensityFeature(model, uOld);
  const fNew = refDensityFeature({ settings, box: field.box, grid: field.grid, values: after }, uNew);
  assert.ok(Math.abs(fOld - fNew) < 1e-5, `density preserved by the crop (${fOld} vs ${fNew})`);
  trainer.destroy();
  field.destroy();
});

test('model file: round trip renders identical pixels; damaged files give clear errors', async () => {
  const ctx = await nodeGpu();
  const box: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };
  const field = new TensorField(ctx, settings, box, resolutionForVoxels(12 ** 3, box), 5);
  const values = await field.arena.download(ctx);
  const header = {
    settings: field.settings,
    box: field.box,
    grid: field.grid,
    segments: field.arena.segments.map((s) => ({ name: s.name, count: s.count })),
    mask: null,
    info: {},
  };
  const bytes = encodeModel({ header, values, maskBits: null });
  const back = decodeModel(bytes, 'm.slim');
  const again = new TensorField(ctx, back.header.settings, back.header.box, back.header.grid, 99, back.values);
  const ds = proceduralDataset({ size: 12, train: 1, test: 1 });
  const cam = ds.splits.test!.cameras[0]!;
  const a = await new ViewRenderer(ctx, field, [2, 6], 256).render(cam, 1);
  const b = await new ViewRenderer(ctx, again, [2, 6], 256).render(cam, 1);
  assert.deepEqual(Array.from(a.rgb), Array.from(b.rgb));

  assert.throws(() => decodeModel(bytes.subarray(0, bytes.length - 10), 'cut.slim'), /cut\.slim: segment .* runs past the end/);
  assert.throws(() => decodeModel(new TextEncoder().encode('NOTAMODEL...'), 'x.bin'), /x\.bin: not a Slimfield model/);
  const bad = bytes.slice();
  const firstFloat = bytes.length - values.get('mlp.b2')!.length * 4 - 64; // somewhere in the data
  new DataView(bad.buffer).setFloat32(firstFloat - (firstFloat % 4), NaN, true);
  assert.throws(() => decodeModel(bad, 'nan.slim'), /nan\.slim: segment .* non-finite/);
  field.destroy();
  again.destroy();
});

test('alpha mask: exactly the words its dims need, so a scene file with the mask reads back', async () => {
  // 5 x 8 x 8 = 320 points: 10 words, which a 16-byte-rounded buffer holds with 2 to spare.
  const ctx = await nodeGpu();
  const box: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };
  const grid: Vec3 = [5, 8, 8];
  const field = new TensorField(ctx, settings, box, grid, 3);
  const built = await buildAlphaMask(ctx, field);
  assert.equal(built.mask.bits.length, 10);
  field.setMask(built.mask);
  const bytes = exportScene({ settings, box, grid, values: await field.arena.download(ctx), mask: field.mask }, { precision: 'fp32' });
  assert.deepEqual(readScene(bytes, 'mask.slimscene').model.mask!.bits, built.mask.bits);
  field.destroy();
});

test('masks: pixels a capture masks out are never drawn for training and not scored', async () => {
  const ctx = await nodeGpu();
  const split = proceduralDataset({ size: 16, train: 4, test: 1 }).splits.train!;
  // The left half of every image is masked out (alpha 0); the right half kept.
  const images = split.images.map((img) => {
    const m = Uint8Array.from(img);
    for (let i = 0; i < m.length / 4; i++) m[i * 4 + 3] = i % 16 < 8 ? 0 : 255;
    return m;
  });
  const rays = new TrainingRays(ctx, { ...split, images }, false);
  const box: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };
  const field = await TensorField.make(ctx, MODEL_PRESETS.vm48, box, [8, 8, 8]);
  const bitsOf = async () => {
    const words = await ctx.readU32(rays.valid);
    return Array.from({ length: rays.images.pixelCount }, (_, i) => (words[i >> 5]! >>> (i & 31)) & 1);
  };
  await filterRays(ctx, field, rays, 'box', [2, 6], true);
  const masked = await bitsOf();
  await filterRays(ctx, field, rays, 'box', [2, 6], false);
  const all = await bitsOf();
  const left = (i: number) => i % 16 < 8;
  assert.ok(
    masked.every((b, i) => !(b && left(i))),
    'no masked pixel is kept',
  );
  assert.ok(
    masked.every((b, i) => b === (left(i) ? 0 : all[i])),
    'unmasked pixels are kept exactly as without masks',
  );
  assert.ok(
    all.some((b, i) => b && left(i)),
    'without the mask the left halves enter the box too',
  );
  // Scoring: masked pixels count for nothing, however wrong the render is there.
  const truth = new Float32Array(16 * 16 * 3).fill(0.5);
  const render = Float32Array.from(truth, (v, i) => (Math.floor(i / 3) % 16 < 8 ? 0 : v + 0.1));
  const scored = Uint8Array.from({ length: 256 }, (_, i) => (i % 16 < 8 ? 0 : 1));
  const score = scoreView(render, truth, 16, 16, scored);
  assert.ok(Math.abs(score.psnr - 20) < 1e-4, `PSNR over the kept pixels: ${score.psnr}`);
  assert.ok(psnr(render, truth) < score.psnr - 3, 'the masked pixels would have lowered it');
  field.destroy();
  rays.destroy();
});
