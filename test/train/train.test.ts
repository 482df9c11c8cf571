// End-to-end training: the real engine path (ray generation, sampling, alpha masks, shrink,
// upsampling, Adam) on a scene the test renders itself and on lego at strong downscale. Sized for
// SwiftShader: a small MLP (featureC 16) and 256-ray batches, the same kernels a GPU runs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { decodeImageNode } from '../../src/data/image-node.ts';
import { loadDataset } from '../../src/data/load.ts';
import { nodeFolderSource, nodeInputLimits } from '../../src/data/node-source.ts';
import { demoSurfacePoint, proceduralDataset } from '../../src/data/procedural.ts';
import type { Dataset } from '../../src/data/types.ts';
import { evenlySpacedViews } from '../../src/data/views.ts';
import { type EvalResult, evaluate } from '../../src/eval/evaluate.ts';
import { TensorField } from '../../src/field/field.ts';
import { latticeCandidates } from '../../src/field/layouts/strivec-lattice.ts';
import type { PresetName } from '../../src/field/presets.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';
import { Trainer } from '../../src/train/trainer.ts';

const small = {
  N_voxel_init: 16 ** 3,
  N_voxel_final: 32 ** 3,
  upsamp_list: [40, 80],
  update_AlphaMask_list: [60, 120],
  featureC: 16,
  batch_size: 256,
};

for (const preset of ['vm48', 'slimmerf8'] as const) {
  test(`a ${preset} training step in steady state never waits for the GPU to run dry and submits twice`, async () => {
    const ctx = await nodeGpu();
    const ds = proceduralDataset({ size: 16, train: 4, test: 1 });
    const cfg = resolveConfig(preset, { batch_size: 64, featureC: 8 });
    const field = new TensorField(ctx, cfg.settings, { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] }, [9, 8, 7], 3);
    const trainer = new Trainer(ctx, ds, field, cfg.train);
    // The first step filters the rays and waits for its loss; none of the next has a scheduled event.
    for (let i = 0; i < 2; i++) await trainer.step();
    const before = { ...ctx.counts };
    const steps = 4;
    for (let i = 0; i < steps; i++) await trainer.step();
    // Rays, sampling and weights; shading, loss, backward and Adam, every size on the GPU. The host
    // waits at most once a step, for the step before the last (a throttle), while the GPU still
    // has the last; SlimmeRF's rank growth decides on a loss that has arrived by then.
    assert.equal(ctx.counts.readbacks - before.readbacks, 0, 'blocking readbacks');
    assert.ok(ctx.counts.throttles - before.throttles <= steps, 'at most one throttle per step');
    assert.equal((ctx.counts.submissions - before.submissions) / steps, 2, 'submissions per step');
    field.destroy();
  });
}

async function trainAndEvaluate(ds: Dataset, preset: PresetName, iters: number, views: number, extra: Record<string, unknown> = {}) {
  const ctx = await nodeGpu();
  const cfg = resolveConfig(preset, { ...small, ...extra, n_iters: iters });
  const events: string[] = [];
  const run = new TrainingRun(ctx, ds, cfg, { seed: 1, evaluation: { views } });
  const split = ds.splits.test!;
  let before: Promise<EvalResult> | null = null;
  const result = await run.run((e) => {
    // The field before its first step: queued on the run's GPU queue, so it runs before that step.
    if (e.type === 'start') before = run.queue.run(() => evaluate(run.renderer!, ds, split, evenlySpacedViews(split.cameras.length, views)));
    if (e.type === 'prepare') events.push(e.message);
    if (e.type === 'step') {
      assert.ok(Number.isFinite(e.step.loss), `finite loss at iteration ${e.step.iter}`);
      if (e.step.event) events.push(e.step.event);
    }
  });
  const after = result!.evaluation!;
  const settings = result!.field.settings;
  const lattice = result!.field.lattice;
  run.dispose();
  return { before: await before!, after, events, settings, lattice };
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

test('An unbounded scene: the contracted field models the surroundings the box-only field paints black', async (t) => {
  // Ground and sky fill every pixel, far outside the box: a phone capture's room in miniature.
  const ds = proceduralDataset({ size: 24, train: 30, test: 6, background: 'environment' });
  const box = await trainAndEvaluate(ds, 'vm48', 100, 3, { contract: false });
  const contracted = await trainAndEvaluate(ds, 'vm48', 100, 3);
  t.diagnostic(`environment scene, VM-48: box only ${box.after.psnr.toFixed(2)} dB, contracted ${contracted.after.psnr.toFixed(2)} dB`);
  // The dataset says it is unbounded, so the default run contracts it about the box.
  assert.deepEqual(contracted.settings.contraction, { lo: ds.aabb[0], hi: ds.aabb[1] });
  assert.equal(box.settings.contraction, undefined);
  // At this size (24-pixel views, 100 iterations) both models are still hazy and the margin is
  // about a decibel; the fox and the benchmark's environment rows show it at full size.
  assert.ok(contracted.after.psnr > box.after.psnr + 0.4, `contracted ${contracted.after.psnr.toFixed(2)} dB vs box only ${box.after.psnr.toFixed(2)} dB`);
});

test('A forward-facing capture trains in NDC by default, and models the surroundings the box-only field paints black', async (t) => {
  // LLFF's layout: every camera looks one way from a patch of one image plane.
  const ds = proceduralDataset({ size: 24, train: 30, test: 6, background: 'environment', layout: 'forward' });
  const box = await trainAndEvaluate(ds, 'vm48', 100, 3, { contract: false });
  const ndc = await trainAndEvaluate(ds, 'vm48', 100, 3);
  t.diagnostic(`forward-facing scene, VM-48: box only ${box.after.psnr.toFixed(2)} dB, NDC ${ndc.after.psnr.toFixed(2)} dB`);
  assert.ok(ndc.settings.ndc && !ndc.settings.contraction, 'the default for a forward-facing capture is NDC');
  assert.ok(ndc.after.psnr > box.after.psnr + 2, `NDC ${ndc.after.psnr.toFixed(2)} dB vs box only ${box.after.psnr.toFixed(2)} dB`);
});

test('CP trains the procedural scene', async (t) => {
  const ds = proceduralDataset({ size: 24, train: 30, test: 8 });
  const { before, after } = await trainAndEvaluate(ds, 'cp384', 60, 2, { upsamp_list: [20, 40], update_AlphaMask_list: [30, 50] });
  t.diagnostic(`procedural CP-384: PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
  assert.ok(after.psnr > before.psnr + 5, `PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
});

test('Strivec trains the procedural scene: a coarse pass places tensors around the surfaces, then PSNR rises', async (t) => {
  const ds = proceduralDataset({ size: 32, train: 40, test: 8 });
  // Lattices in world units (the reference's on a 3-unit box): fine enough at this small grid to
  // show the placement's sparsity, which the preset rule's 10-cell finest spacing would not.
  const { before, after, events, settings, lattice } = await trainAndEvaluate(ds, 'strivec', 120, 4, {
    pre_N_iters: 100,
    vox_range: [0.4, 0.2, 0.1],
    local_range: [0.3, 0.15, 0.075],
    n_lamb_sigma: [8, 6, 4],
    n_lamb_sh: [8, 8, 8],
    update_AlphaMask_list: [80, 110],
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
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  while (out.length < n) {
    const cam = cams[Math.floor(rnd() * cams.length)]!;
    const p = demoSurfacePoint(cam, rnd() * cam.width, rnd() * cam.height);
    if (p) out.push(p);
  }
  return out;
}

const lego = '../shared/data/lego';
test('VM trains lego at downscale 16', { skip: !existsSync(lego) && 'no ../shared/data/lego' }, async (t) => {
  const ds = await loadDataset(nodeFolderSource(lego, nodeInputLimits()), {
    downscale: 16,
    decode: decodeImageNode,
    splits: ['train', 'test'],
    limits: nodeInputLimits(),
  });
  const { before, after } = await trainAndEvaluate(ds, 'vm48', 150, 4);
  t.diagnostic(`lego /16 VM-48: PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}, SSIM ${after.ssim.toFixed(3)}`);
  assert.ok(after.psnr > before.psnr + 5 && after.psnr > 16, `PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
});
