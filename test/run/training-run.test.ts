// The one training run every front end drives: its events in order, pause, resume and stop, the
// time budget, held-out PSNR, evaluation and saving, refusal of a run that cannot fit, and a stop
// during Strivec's coarse pass. Tiny configurations on the procedural scene.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { decodeModel } from '../../src/formats/model-file.ts';
import { LimitError } from '../../src/gpu/context.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { type RunEvent, TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';

const tiny = { N_voxel_init: 12 ** 3, N_voxel_final: 16 ** 3, upsamp_list: [8], update_AlphaMask_list: [12], featureC: 8, batch_size: 128 };
const ds = proceduralDataset({ size: 16, train: 8, test: 2 });

test('a run reports memory, start, every step, held-out PSNR and the result; evaluates and saves', async () => {
  const ctx = await nodeGpu();
  const cfg = resolveConfig('vm48', { ...tiny, n_iters: 16 });
  let saved: Uint8Array | null = null;
  const events: RunEvent[] = [];
  const run = new TrainingRun(ctx, ds, cfg, {
    seed: 1,
    heldOut: { every: 5, views: 1, share: 1 },
    evaluation: { views: 2, ranks: [1, 2] },
    save: {
      sink: async (b) => {
        saved = b;
      },
      info: (r) => ({ iters: r.iters }),
    },
  });
  const result = await run.run((e) => events.push(e));
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'memory');
  assert.ok(types.indexOf('start') < types.indexOf('step'), 'start before the first step');
  assert.equal(types.at(-1), 'finished');
  const steps = events.flatMap((e) => (e.type === 'step' ? [e.step.iter] : []));
  assert.deepEqual(
    steps,
    Array.from({ length: 16 }, (_, i) => i + 1),
  );
  const scheduled = events.flatMap((e) => (e.type === 'step' && e.step.event ? [e.step.event] : []));
  assert.ok(scheduled.some((s) => s.startsWith('upsampled')) && scheduled.some((s) => s.startsWith('alpha mask')), scheduled.join('; '));
  const heldOut = events.flatMap((e) => (e.type === 'held-out' ? [e.iter] : []));
  assert.equal(heldOut.at(-1), 16, `held-out PSNR measured at the end (${heldOut})`);
  assert.ok(heldOut.length >= 2 && heldOut.every((i) => i % 5 === 0 || i === 16), `held-out at ${heldOut}`);
  assert.ok(result && result.iters === 16 && result.stoppedEarly === null);
  // Steps never wait for the GPU to run dry; the held-out renders every 5 steps, the scheduled
  // events and the first step's loss do.
  assert.ok(result.readbacksPerIteration > 0 && result.readbacksPerIteration < 10, `${result.readbacksPerIteration} readbacks per iteration`);
  assert.ok(result.submissionsPerIteration >= result.readbacksPerIteration, `${result.submissionsPerIteration} submissions per iteration`);
  assert.ok(result.evaluation && result.evaluation.views === 2 && result.evaluation.split === 'test' && result.evaluation.psnr > 5);
  assert.deepEqual(
    result.rankCurve!.map((p) => p.rank),
    [1, 2],
  );
  assert.ok(saved !== null && result.savedBytes === (saved as Uint8Array).length);
  const file = decodeModel(saved!, 'saved');
  assert.deepEqual(file.header.info, { iters: 16 });
  assert.deepEqual(file.header.grid, result.field.grid);
  run.dispose();
});

test('pause holds the run between steps, resume continues it, stop ends it with what it has', async () => {
  const ctx = await nodeGpu();
  const run = new TrainingRun(ctx, ds, resolveConfig('vm48', { ...tiny, n_iters: 40 }), { seed: 1 });
  let pausedAt = -1;
  let stepsWhilePaused = 0;
  const result = await run.run((e) => {
    if (e.type !== 'step') return;
    if (run.isPaused) stepsWhilePaused++;
    if (e.step.iter === 3) {
      run.pause();
      pausedAt = e.step.iter;
      setTimeout(() => run.resume(), 300);
    }
    if (e.step.iter === 7) run.stop();
  });
  assert.equal(pausedAt, 3);
  assert.equal(stepsWhilePaused, 0, 'no step runs while paused');
  assert.ok(result);
  assert.equal(result.iters, 7);
  assert.equal(result.stoppedEarly, 'stopped');
  assert.ok(result.trainSeconds < result.seconds, 'paused time is not training time');
  run.dispose();
});

test('a time budget ends training early and says so', async () => {
  const ctx = await nodeGpu();
  const run = new TrainingRun(ctx, ds, resolveConfig('vm48', { ...tiny, n_iters: 1000 }), { seed: 1, budgetSeconds: 1 });
  const result = await run.run();
  assert.ok(result && result.iters > 0 && result.iters < 1000, `${result?.iters} iterations`);
  assert.equal(result.stoppedEarly, 'time budget of 1 s spent');
  run.dispose();
});

test('a run that cannot fit is refused before it starts, with advice and an error event', async () => {
  const ctx = await nodeGpu();
  const huge = resolveConfig('vm192', { N_voxel_final: 2048 ** 3 });
  const events: RunEvent[] = [];
  const run = new TrainingRun(ctx, ds, huge, { seed: 1 });
  await assert.rejects(
    run.run((e) => events.push(e)),
    (e: unknown) => {
      assert.ok(e instanceof LimitError);
      assert.match(e.message, /VM field at its final grid .* needs .* but this GPU binds at most/);
      assert.deepEqual(
        e.advice.map((a) => a.change),
        ['final-grid', 'components'],
      );
      return true;
    },
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ['memory', 'error'],
  );
  assert.equal(run.field, null, 'nothing was allocated');
});

test('Strivec stopped during its coarse pass resolves with no field', async () => {
  const ctx = await nodeGpu();
  const cfg = resolveConfig('strivec', { ...tiny, n_iters: 10, pre_N_iters: 30, n_lamb_sigma: [2, 2, 2], n_lamb_sh: [3, 3, 3] });
  const run = new TrainingRun(ctx, ds, cfg, { seed: 1 });
  const result = await run.run((e) => {
    if (e.type === 'prepare' && e.message.startsWith('coarse pass: iteration 25/')) run.stop();
  });
  assert.equal(result, null);
  assert.equal(run.field, null);
});

test('Strivec refines poses with its field: the cameras move, without the factor blur it does not have', async () => {
  const ctx = await nodeGpu();
  const cfg = resolveConfig('strivec', {
    ...tiny,
    n_iters: 12,
    pre_N_iters: 60,
    n_lamb_sigma: [2, 2, 2],
    n_lamb_sh: [3, 3, 3],
    refine_poses: true,
    lr_pose_init: 0.01,
    lr_pose_final: 0.001,
  });
  assert.deepEqual(cfg.train.blurSchedule, [], 'no factor blur by default for Strivec');
  const run = new TrainingRun(ctx, ds, cfg, { seed: 1 });
  const result = await run.run();
  const moved = result!.poses!.refined.some((c, i) => c.c2w.some((v, j) => v !== ds.splits.train!.cameras[i]!.c2w[j]));
  assert.ok(moved, 'the refined cameras differ from the given ones');
  run.dispose();
});

test('two runs of one configuration end with bit-identical parameters', async () => {
  // Factor gradients are integer sums and the shaded list is in ray order (a prefix sum, not an
  // atomic base), so the dense weight gradients sum in one order too.
  const ctx = await nodeGpu();
  const cfg = resolveConfig('slimmerf8', { ...tiny, n_iters: 14 });
  const values: Map<string, Float32Array>[] = [];
  for (let k = 0; k < 2; k++) {
    const run = new TrainingRun(ctx, ds, cfg, { seed: 1 });
    const result = await run.run();
    values.push(await result!.field.arena.download(ctx));
    run.dispose();
  }
  for (const [name, v] of values[0]!) assert.deepEqual(values[1]!.get(name), v, `${name} differs between runs`);
});
