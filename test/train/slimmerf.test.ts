// SlimmeRF (notes 4): the TRaIn rule on hand-made loss sequences, rank slimming as exact
// truncation (a rank-k render equals the render of a model holding only the first k groups), and
// locked rank groups staying bit-identical through real training steps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { TensorField } from '../../src/field/field.ts';
import { type Box, resolutionForVoxels } from '../../src/field/geometry.ts';
import { placeTensors } from '../../src/field/layouts/strivec-lattice.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import { componentsAtRank, maxRankOf, segmentComponentsAtRank, truncateToRank } from '../../src/field/rank.ts';
import type { FieldSettings } from '../../src/field/settings.ts';
import { encodeFieldModel, modelFileSize } from '../../src/formats/field-model.ts';
import { decodeModel } from '../../src/formats/model-file.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal } from '../../src/gpu/random.ts';
import { ViewRenderer } from '../../src/render/view-renderer.ts';
import { resolveConfig } from '../../src/train/config.ts';
import { RankIncrementer } from '../../src/train/schedule.ts';
import { Trainer } from '../../src/train/trainer.ts';

test('TRaIn grows the rank exactly where |L(i-1) - L(i)| / L(i) > upsilon', () => {
  const r = new RankIncrementer(1, 4, 0.4, 0);
  // iteration:      1    2    3     4    5     6    7    8
  const losses = [1.0, 0.5, 0.45, 0.3, 0.29, 0.5, 0.1, 0.01];
  const grew = losses.map((l, i) => r.observe(i + 1, l));
  // 2: 0.5/0.5 = 1; 3: 0.05/0.45 = 0.11; 4: 0.15/0.3 = 0.5; 5: 0.03; 6: 0.21/0.5 = 0.42; 7, 8: at maximum.
  assert.deepEqual(grew, [false, true, false, true, false, true, false, false]);
  assert.equal(r.rank, 4);
  // A change of exactly upsilon does not fire (strict inequality), and a rising loss counts too.
  const s = new RankIncrementer(1, 8, 0.5, 0);
  assert.deepEqual(
    [1.5, 1.0, 2.0].map((l, i) => s.observe(i + 1, l)),
    [false, false, false],
  );
  assert.equal(s.observe(4, 1.3), true); // |2 - 1.3| / 1.3 = 0.54
});

test('TRaIn waits more than eta iterations between increments', () => {
  const r = new RankIncrementer(1, 16, 0.4, 2);
  // Every step halves the loss (change 1.0), so only eta holds increments back.
  const fired = Array.from({ length: 9 }, (_, i) => r.observe(i + 1, 2 ** -i)).flatMap((f, i) => (f ? [i + 1] : []));
  assert.deepEqual(fired, [3, 6, 9]);
});

test('rank groups: 1 density and 3 appearance components per slot; VM-192 and SlimmeRF-16 both have rank 16', () => {
  assert.equal(maxRankOf(MODEL_PRESETS.vm192), 16);
  assert.equal(maxRankOf(MODEL_PRESETS.slimmerf16), 16);
  assert.equal(maxRankOf(MODEL_PRESETS.slimmerf8), 8);
  assert.deepEqual(componentsAtRank(MODEL_PRESETS.slimmerf16, 5), { density: [5, 5, 5], app: [15, 15, 15] });
  assert.deepEqual(componentsAtRank(MODEL_PRESETS.cp384, 200), { density: [96], app: [288] });
});

// Strivec: two levels of local tensors around a cloud at the scene's centre.
const lattice = placeTensors(randomNormal(3 * 60, 0.4, 3), [0.8, 0.4], [0.6, 0.3]);
const small = (kind: 'vm' | 'cp' | 'strivec'): FieldSettings => ({
  ...MODEL_PRESETS[kind === 'vm' ? 'slimmerf8' : kind === 'cp' ? 'cp384' : 'strivec'],
  densityComps: kind === 'vm' ? [4, 4, 4] : kind === 'cp' ? [4] : [4, 3],
  appComps: kind === 'vm' ? [12, 12, 12] : kind === 'cp' ? [12] : [12, 9],
  ...(kind === 'strivec' ? { levels: lattice.levels } : {}),
  shading: { mode: 'MLP_Fea', appDim: 6, viewPe: 1, feaPe: 1, featureC: 8 },
  // Substantial opacity from the random init, so every rank group shows in the pixels.
  densityShift: 0,
  initStd: 0.6,
});

for (const kind of ['vm', 'cp', 'strivec'] as const) {
  test(`${kind.toUpperCase()}: a rank-k render equals the render of the model truncated to k groups, and its file`, async () => {
    const ctx = await nodeGpu();
    const ds = proceduralDataset({ size: 12, train: 2, test: 1 });
    const box: Box = { lo: ds.aabb[0], hi: ds.aabb[1] };
    const tables = new Map(lattice.tables.map((t, l) => [`lattice.level${l}`, t] as const));
    const full = new TensorField(ctx, small(kind), box, [10, 9, 8], 7, kind === 'strivec' ? tables : undefined);
    const cam = ds.splits.test!.cameras[0]!;
    const values = await full.arena.download(ctx);
    const rFull = new ViewRenderer(ctx, full, ds.nearFar, 64);
    const whole = await rFull.render(cam, 1);
    for (const k of [1, 2, 3]) {
      const slimRender = await rFull.render(cam, 1, k);
      const t = truncateToRank(full.settings, values, k);
      const slim = new TensorField(ctx, t.settings, box, full.grid, 1, t.values);
      assert.equal(slim.parameterCount, full.parameterCountAtRank(k), `parameter count at rank ${k}`);
      const r = new ViewRenderer(ctx, slim, ds.nearFar, 64);
      const img = await r.render(cam, 1);
      let diff = 0;
      let change = 0;
      for (let i = 0; i < img.rgb.length; i++) {
        diff = Math.max(diff, Math.abs(img.rgb[i]! - slimRender.rgb[i]!));
        change = Math.max(change, Math.abs(whole.rgb[i]! - slimRender.rgb[i]!));
      }
      // Same sums over the same leading components; only the basis GEMM's width differs.
      assert.ok(diff < 1e-5, `rank ${k}: truncated model differs by ${diff}`);
      assert.ok(change > 1e-3, `rank ${k} should differ from the full model (max change ${change})`);
      // The exported file at rank k is the truncated model.
      const bytes = encodeFieldModel(full, values, {}, k);
      assert.equal(bytes.length, modelFileSize(full, k), 'predicted file size');
      const back = decodeModel(bytes, 'slim.model');
      assert.deepEqual(back.header.settings.densityComps, t.settings.densityComps);
      for (const [name, v] of t.values) assert.deepEqual(back.values.get(name), v, name);
      r.destroy();
      slim.destroy();
    }
    rFull.destroy();
    full.destroy();
  });
}

test('SlimmeRF training: locked rank groups and their Adam moments stay bit-identical, unlocked ones move', async () => {
  const ctx = await nodeGpu();
  const ds = proceduralDataset({ size: 16, train: 8, test: 1 });
  const cfg = resolveConfig('slimmerf8', {
    N_voxel_init: 12 ** 3,
    N_voxel_final: 12 ** 3,
    upsamp_list: [],
    update_AlphaMask_list: [],
    featureC: 8,
    batch_size: 128,
    n_iters: 6,
    rank_upsilon: 1e9, // never grows: rank 1 throughout
  });
  assert.equal(cfg.train.rankIncremental, true);
  const box: Box = { lo: ds.aabb[0], hi: ds.aabb[1] };
  const field = new TensorField(ctx, { ...cfg.settings, densityShift: -2, initStd: 0.5 }, box, resolutionForVoxels(cfg.train.nVoxelInit, box), 3);
  const trainer = new Trainer(ctx, ds, field, cfg.train);
  assert.equal(field.rank, 1);
  const before = await field.arena.download(ctx);
  for (let i = 0; i < 6; i++) assert.equal((await trainer.step()).rank, 1);
  const after = await field.arena.download(ctx);
  const moments = await ctx.readF32(field.arena.adamM!);
  for (const seg of field.arena.segments.filter((s) => s.group === 'factor')) {
    const active = segmentComponentsAtRank(seg.name, seg.components, 1);
    const a = before.get(seg.name)!;
    const b = after.get(seg.name)!;
    let moved = 0;
    for (let i = 0; i < a.length; i++) {
      if (i % seg.components >= active) {
        assert.equal(b[i], a[i], `${seg.name}[${i}] is locked but changed`);
        assert.equal(moments[seg.offset + i], 0, `${seg.name}[${i}] is locked but has an Adam moment`);
      } else if (b[i] !== a[i]) moved++;
    }
    assert.ok(moved > 0, `${seg.name}: the unlocked components should train`);
  }
  trainer.destroy();
  field.destroy();
});
