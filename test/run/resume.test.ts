// Exact resume: a run continued from a checkpoint ends with bit-identical parameters to the run
// that was never interrupted, whichever iteration it was interrupted at: before and after an
// upsample, an alpha-mask update with the box shrink, the second mask update with the ray filter,
// and a rank increment (SlimmeRF); Strivec's tensor pruning and placing again. Also a run stopped by the user and continued, and a checkpoint
// refused on other data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { CheckpointError, decodeCheckpoint } from '../../src/formats/checkpoint-file.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';

const ds = proceduralDataset({ size: 16, train: 8, test: 2 });
// Upsampling at 10 and 20, masks at 34 (the box shrinks to 11x10x12) and 40 (rays filtered); TRaIn with a
// low threshold grows the rank in the first ten iterations.
const ITERS = 44;
const cfg = resolveConfig('slimmerf8', {
  N_voxel_init: 12 ** 3,
  N_voxel_final: 18 ** 3,
  upsamp_list: [10, 20],
  update_AlphaMask_list: [34, 40],
  featureC: 8,
  batch_size: 256,
  n_iters: ITERS,
  rank_upsilon: 0.05,
});

async function finalValues(run: TrainingRun, onEvent?: Parameters<TrainingRun['run']>[0]): Promise<Map<string, Float32Array>> {
  const result = await run.run(onEvent);
  const ctx = await nodeGpu();
  const values = await result!.field.arena.download(ctx);
  const moments = await result!.field.arena.download(ctx, 'adamM');
  for (const [k, v] of moments) values.set(`${k}#m`, v);
  // Pose refinement: the refined cameras too.
  if (result!.poses) values.set('poses#c2w', Float32Array.from(result!.poses.refined.flatMap((c) => [...c.c2w])));
  run.dispose();
  return values;
}

function assertSame(a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string): void {
  assert.deepEqual([...b.keys()], [...a.keys()], `${what}: the same tensors`);
  for (const [name, v] of a) assert.deepEqual(b.get(name), v, `${what}: ${name} differs`);
}

test('a run resumed at any iteration ends bit-identical to the uninterrupted run', { timeout: 600_000 }, async () => {
  const ctx = await nodeGpu();
  const saved = new Map<number, Uint8Array>();
  let rankSteps: number[] = [];
  const whole = new TrainingRun(ctx, ds, cfg, { seed: 1, checkpoint: { everyIterations: 1, sink: async (b, iter) => void saved.set(iter, b) } });
  const events: string[] = [];
  const result = await whole.run((e) => {
    if (e.type === 'step' && e.step.event) events.push(`${e.step.iter}: ${e.step.event}`);
  });
  assert.ok(events.some((e) => /^34: .*box shrunk/.test(e)) && events.some((e) => /^40: .*rays kept/.test(e)), events.join('; '));
  rankSteps = result!.rankSteps;
  const ref = await (async () => {
    const values = await result!.field.arena.download(ctx);
    const moments = await result!.field.arena.download(ctx, 'adamM');
    for (const [k, v] of moments) values.set(`${k}#m`, v);
    whole.dispose();
    return values;
  })();
  assert.equal(saved.size, ITERS, 'a checkpoint after every iteration');
  assert.ok(rankSteps.length >= 2, `the rank grew (at ${rankSteps})`);
  // Around each upsample, each mask update and a rank increment; and the last iteration.
  const r = rankSteps[1]!;
  const points = [...new Set([9, 10, 19, 20, 33, 34, 39, 40, r - 1, r, ITERS - 1])].filter((k) => k >= 1 && k < ITERS).sort((a, b) => a - b);
  for (const k of points) {
    const cp = decodeCheckpoint(saved.get(k)!, `iteration ${k}`);
    assert.equal(cp.trainer.iter, k);
    const resumed = new TrainingRun(ctx, ds, cfg, { seed: 1, resumeFrom: cp });
    assertSame(ref, await finalValues(resumed), `resumed at ${k}`);
  }
});

test('with the coarse-to-fine blur (its own random density strengths) and pose refinement, a resumed run ends bit-identical too, cameras included; the blur changes the result', {
  timeout: 600_000,
}, async () => {
  const ctx = await nodeGpu();
  // VM-48 for 24 iterations, the blur narrowing to nothing at the end; an upsample at 10.
  const base = { N_voxel_init: 12 ** 3, N_voxel_final: 18 ** 3, upsamp_list: [10], update_AlphaMask_list: [], featureC: 8, batch_size: 256, n_iters: 24 };
  const blurred = resolveConfig('vm48', { ...base, blur_schedule: [0.3, 0.15, 0.07, 0], refine_poses: true });
  const saved = new Map<number, Uint8Array>();
  const ref = await finalValues(
    new TrainingRun(ctx, ds, blurred, { seed: 1, checkpoint: { everyIterations: 1, sink: async (b, iter) => void saved.set(iter, b) } }),
  );
  for (const k of [5, 10, 17]) {
    const cp = decodeCheckpoint(saved.get(k)!, `iteration ${k}`);
    assert.ok(cp.trainer.blurRngState !== undefined, 'the blur generator is saved');
    assert.equal(cp.trainer.poses?.step, k, 'the pose corrections and their Adam state are saved');
    assertSame(ref, await finalValues(new TrainingRun(ctx, ds, blurred, { seed: 1, resumeFrom: cp })), `blurred run resumed at ${k}`);
  }
  const sharp = await finalValues(new TrainingRun(ctx, ds, resolveConfig('vm48', base), { seed: 1 }));
  assert.notDeepEqual(sharp.get('density.plane0'), ref.get('density.plane0'), 'the blur changed the training');
  assert.ok(ref.has('poses#c2w') && !sharp.has('poses#c2w'), 'only the refining run has refined cameras');
});

for (const refine of [false, true]) {
  // Without pose refinement the first mask update prunes the empty tensors; with it, it places
  // them again around the surface the refined cameras see (some new, some gone).
  const what = refine ? 'placing its tensors again' : 'its tensor pruning';
  test(`Strivec: a run resumed across ${what} (at the first mask update) ends bit-identical, with the new layout`, { timeout: 600_000 }, async () => {
    const ctx = await nodeGpu();
    const strivec = resolveConfig('strivec', {
      N_voxel_init: 12 ** 3,
      N_voxel_final: 18 ** 3,
      upsamp_list: [10],
      update_AlphaMask_list: [64],
      n_lamb_sigma: [8, 6],
      n_lamb_sh: [8, 8],
      featureC: 8,
      batch_size: 256,
      n_iters: 70,
      pre_N_iters: 60,
      vox_range: [0.6, 0.3],
      local_range: [0.45, 0.225],
      ...(refine ? { refine_poses: true } : {}),
    });
    const saved = new Map<number, Uint8Array>();
    const events: string[] = [];
    const whole = new TrainingRun(ctx, ds, strivec, { seed: 1, checkpoint: { everyIterations: 1, sink: async (b, iter) => void saved.set(iter, b) } });
    const ref = await finalValues(whole, (e) => {
      if (e.type === 'step' && e.step.event) events.push(`${e.step.iter}: ${e.step.event}`);
    });
    const logged = refine ? /^64: .*placed the tensors again .*: \d+ tensors at level 1 \(\d+ new, \d+ gone\)/ : /^64: .*pruned \d+ of \d+ tensors at level 1/;
    assert.ok(
      events.some((e) => logged.test(e)),
      events.join('; '),
    );
    const before = decodeCheckpoint(saved.get(63)!, 'iteration 63');
    const after = decodeCheckpoint(saved.get(64)!, 'iteration 64');
    assert.ok(
      after.settings.levels!.some((lv, l) => lv.tensors !== before.settings.levels![l]!.tensors),
      'the checkpoint after the mask update holds the new layout',
    );
    for (const k of refine ? [63, 64] : [63, 64, 67]) {
      const cp = decodeCheckpoint(saved.get(k)!, `iteration ${k}`);
      assertSame(ref, await finalValues(new TrainingRun(ctx, ds, strivec, { seed: 1, resumeFrom: cp })), `Strivec resumed at ${k}`);
    }
  });
}

test('a run stopped by the user keeps its last state; continued, it ends as if never stopped', { timeout: 600_000 }, async () => {
  const ctx = await nodeGpu();
  const ref = await finalValues(new TrainingRun(ctx, ds, cfg, { seed: 1 }));
  const written: Uint8Array[] = [];
  const first = new TrainingRun(ctx, ds, cfg, {
    seed: 1,
    checkpoint: {
      everyIterations: 100,
      sink: async (b) => {
        written.push(b);
      },
    },
  });
  const r1 = await first.run((e) => {
    if (e.type === 'step' && e.step.iter === 35) first.stop();
  });
  assert.equal(r1!.iters, 35);
  assert.equal(r1!.stoppedEarly, 'stopped');
  assert.equal(r1!.checkpoints, 1, 'the checkpoint written on stop');
  first.dispose();
  const cp = decodeCheckpoint(written.at(-1)!, 'stopped');
  assert.equal(cp.trainer.iter, 35);
  const second = new TrainingRun(ctx, ds, cfg, { seed: 1, resumeFrom: cp });
  let steps = 0;
  const r2 = await second.run((e) => {
    if (e.type === 'step') steps++;
  });
  assert.equal(steps, ITERS - 35, 'iterations 36 to the end');
  assert.equal(r2!.resumedFrom, 35);
  assert.equal(r2!.iters, ITERS);
  assert.ok(r2!.seconds >= cp.progress.seconds, 'times add up across the interruption');
  const values = await r2!.field.arena.download(ctx);
  const moments = await r2!.field.arena.download(ctx, 'adamM');
  for (const [k, v] of moments) values.set(`${k}#m`, v);
  second.dispose();
  assertSame(ref, values, 'stopped at 35 and continued');
});

test('a checkpoint is refused on other data, before anything is made', async () => {
  const ctx = await nodeGpu();
  const written: Uint8Array[] = [];
  const run = new TrainingRun(
    ctx,
    ds,
    resolveConfig('vm48', {
      N_voxel_init: 12 ** 3,
      N_voxel_final: 12 ** 3,
      upsamp_list: [],
      update_AlphaMask_list: [],
      featureC: 8,
      batch_size: 64,
      n_iters: 2,
    }),
    {
      seed: 1,
      checkpoint: {
        everyIterations: 1,
        sink: async (b) => {
          written.push(b);
        },
      },
    },
  );
  await run.run();
  run.dispose();
  const other = proceduralDataset({ size: 16, train: 9, test: 2 });
  const cp = decodeCheckpoint(written.at(-1)!, 'demo.slimckpt');
  const resumed = new TrainingRun(ctx, other, cfg, { seed: 1, resumeFrom: cp });
  await assert.rejects(resumed.run(), (e: unknown) => {
    assert.ok(e instanceof CheckpointError);
    assert.match(
      e.message,
      /cannot continue this checkpoint here: it was made on "procedural" \(train 8 views of 16x16, test 2 views of 16x16\), this dataset is "procedural" \(train 9 views/,
    );
    return true;
  });
  assert.equal(resumed.field, null);
});
