// End-to-end training: the real engine path (ray generation, sampling, alpha masks, shrink,
// upsampling, Adam) on a scene the test renders itself and on lego at strong downscale. Sized for
// SwiftShader: a small MLP (featureC 16) and 256-ray batches, the same kernels a GPU runs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { loadDataset } from '../src/data/loaders.ts';
import { nodeFolderSource } from '../src/data/node-source.ts';
import { proceduralDataset } from '../src/data/procedural.ts';
import type { Dataset } from '../src/data/types.ts';
import { resolveConfig } from '../src/fields/config.ts';
import { createTrainingField } from '../src/fields/coarse.ts';
import { type PresetName } from '../src/fields/tensorf.ts';
import { latticeCandidates } from '../src/fields/strivec.ts';
import { demoSurfacePoint } from '../src/data/procedural.ts';
import { evaluate, testViewIndices, ViewRenderer } from '../src/fields/evaluation.ts';
import { Trainer } from '../src/fields/trainer.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { decodeImageNode } from '../src/io/image-node.ts';

const small = {
  N_voxel_init: 16 ** 3, N_voxel_final: 32 ** 3, upsamp_list: [40, 80], update_AlphaMask_list: [60, 120],
  featureC: 16, batch_size: 256,
};

async function trainAndEvaluate(ds: Dataset, preset: PresetName, iters: number, views: number, extra: Record<string, unknown> = {}) {
  const ctx = await nodeGpu();
  const cfg = resolveConfig(preset, { ...small, ...extra, n_iters: iters });
  const events: string[] = [];
  const field = await createTrainingField(ctx, ds, cfg, 1, (p) => events.push(p.message));
  const trainer = new Trainer(ctx, ds, field, cfg.train);
  const renderer = new ViewRenderer(ctx, field, ds.nearFar, 4096, trainer.batch);
  const split = ds.splits.test!;
  const idx = testViewIndices(split.cameras.length, views);
  const before = await evaluate(renderer, ds, split, idx);
  for (let i = 0; i < iters; i++) {
    const s = await trainer.step();
    assert.ok(Number.isFinite(s.loss), `finite loss at iteration ${s.iter}`);
    if (s.event) events.push(s.event);
  }
  const after = await evaluate(renderer, ds, split, idx);
  const settings = field.settings;
  const lattice = field.lattice;
  renderer.destroy(false);
  trainer.destroy();
  field.destroy();
  return { before, after, events, settings, lattice };
}

test('VM trains the procedural scene: test-view PSNR rises from ~9 dB to above 19 dB', async (t) => {
  const ds = proceduralDataset({ size: 32, train: 40, test: 8 });
  const { before, after, events } = await trainAndEvaluate(ds, 'vm48', 150, 4);
  t.diagnostic(`procedural VM-48: PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}, SSIM ${after.ssim.toFixed(3)}`);
  assert.ok(events.some((e) => e.includes('box shrunk')) && events.some((e) => e.includes('rays kept')), events.join('; '));
  assert.ok(events.filter((e) => e.startsWith('upsampled')).length === 2);
  assert.ok(after.psnr > 19 && after.psnr > before.psnr + 8, `PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
  assert.ok(after.ssim > 0.7, `SSIM ${after.ssim.toFixed(3)}`);
});

test('CP trains the procedural scene', async (t) => {
  const ds = proceduralDataset({ size: 24, train: 30, test: 8 });
  const { before, after } = await trainAndEvaluate(ds, 'cp384', 60, 2, { upsamp_list: [20, 40], update_AlphaMask_list: [30, 50] });
  t.diagnostic(`procedural CP-384: PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
  assert.ok(after.psnr > before.psnr + 5, `PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
});

test('Strivec trains the procedural scene: a coarse pass places tensors around the surfaces, then PSNR rises', async (t) => {
  const ds = proceduralDataset({ size: 32, train: 40, test: 8 });
  const { before, after, events, settings, lattice } = await trainAndEvaluate(ds, 'strivec', 120, 4, {
    pre_N_iters: 100, n_lamb_sigma: [8, 6, 4], n_lamb_sh: [8, 8, 8], update_AlphaMask_list: [80, 110],
  });
  t.diagnostic(events.filter((e) => !e.startsWith('coarse pass: iteration')).join('\n'));
  t.diagnostic(`procedural Strivec: PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}, SSIM ${after.ssim.toFixed(3)}`);
  // Every surface point of the scene lies inside a tensor at every level (the coarse pass found
  // the surfaces), and the tensors are sparse: the finest level's cells fill little of the box.
  const levels = settings.levels!;
  const surface = visibleSurfacePoints(ds, 400);
  const missed = surface.filter((p) => !levels.every((lv, l) => latticeCandidates(lv, lattice[l]!, p).length > 0));
  assert.ok(missed.length <= surface.length * 0.02, `${missed.length} of ${surface.length} surface points outside the tensors`);
  const finest = levels.at(-1)!;
  const filled = (finest.tensors * finest.spacing ** 3) / 27;
  assert.ok(filled < 0.3, `finest level: ${finest.tensors} tensors fill ${(100 * filled).toFixed(1)}% of the box`);
  assert.ok(after.psnr > 17 && after.psnr > before.psnr + 6, `PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
});

/** Surface points the test views see: where random pixel rays first hit the scene. */
function visibleSurfacePoints(ds: Dataset, n: number): [number, number, number][] {
  const cams = ds.splits.test!.cameras;
  const out: [number, number, number][] = [];
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  while (out.length < n) {
    const cam = cams[Math.floor(rnd() * cams.length)]!;
    const p = demoSurfacePoint(cam, rnd() * cam.width, rnd() * cam.height);
    if (p) out.push(p);
  }
  return out;
}

const lego = '../shared/data/lego';
test('VM trains lego at downscale 16', { skip: !existsSync(lego) && 'no ../shared/data/lego' }, async (t) => {
  const ds = await loadDataset(nodeFolderSource(lego), { downscale: 16, decode: decodeImageNode, splits: ['train', 'test'] });
  const { before, after } = await trainAndEvaluate(ds, 'vm48', 150, 4);
  t.diagnostic(`lego /16 VM-48: PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}, SSIM ${after.ssim.toFixed(3)}`);
  assert.ok(after.psnr > before.psnr + 5 && after.psnr > 16, `PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
});
