// The in-app benchmark (the studio's ?bench page, and Node through the same function): one fixed
// configuration, the same on every adapter so results compare, trained on the procedural scene
// (made here, nothing downloaded): iterations per second, training seconds until the held-out
// PSNR first reaches fixed levels, render speed at ranks 1, 4 and 16, peak GPU memory, and the
// GPU round trips per iteration; the result is plain JSON that people paste into a report.
import { proceduralDataset } from '../data/procedural.ts';
import { type RenderSpeedRow, renderSpeed } from '../eval/render-speed.ts';
import type { GpuContext } from '../gpu/context.ts';
import { resolveConfig } from '../train/config.ts';
import { TrainingRun } from './training-run.ts';

/** The fixed configuration: a VM-192 (16 rank groups, so ranks 1/4/16 all render) on 64×64 views. */
export const APP_BENCHMARK = {
  imageSize: 64,
  trainViews: 40,
  testViews: 8,
  model: 'vm192' as const,
  options: {
    n_iters: 400,
    batch_size: 1024,
    N_voxel_init: 32 ** 3,
    N_voxel_final: 64 ** 3,
    upsamp_list: [100, 200],
    update_AlphaMask_list: [150, 300],
    featureC: 64,
  },
  /** Held-out PSNR measured every this many iterations, on this many test views. */
  heldOutEvery: 20,
  heldOutViews: 4,
  psnrLevels: [15, 20, 25],
  renderRanks: [1, 4, 16],
  renderSize: 256,
};

export interface AppBenchmarkResult {
  benchmark: 'slimfield-app';
  version: 1;
  date: string;
  adapter: { label: string; vendor: string; architecture: string; device: string; description: string; software: boolean };
  config: string;
  /** Iterations trained (fewer than the configuration's in a quick run, which says so in `partial`). */
  iterations: number;
  partial: string | null;
  trainSeconds: number;
  iterationsPerSecond: number;
  /** Training seconds until the held-out PSNR first reached each level (null: not reached). */
  secondsToPsnr: Record<string, number | null>;
  /** [iteration, training seconds, held-out PSNR] at each measurement. */
  heldOut: [number, number, number][];
  finalPsnr: number | null;
  render: RenderSpeedRow[];
  peakGpuBytes: number;
  submissionsPerIteration: number;
  readbacksPerIteration: number;
  throttlesPerIteration: number;
}

export interface AppBenchmarkOptions {
  /** Stop after this many iterations (the schedule unchanged): a quick run, marked partial. */
  iterations?: number;
  /** The timed renders' side instead of the configuration's (a quick run on a slow adapter; the rows say their size). */
  renderSize?: number;
  /** What is happening and the share done (0..1). */
  onProgress?: (message: string, fraction: number) => void;
  /** Set to stop the run early (it still reports what it measured). */
  signal?: AbortSignal;
}

export async function runAppBenchmark(ctx: GpuContext, opts: AppBenchmarkOptions = {}): Promise<AppBenchmarkResult> {
  const B = APP_BENCHMARK;
  const say = opts.onProgress ?? (() => {});
  say('making the procedural scene', 0);
  const dataset = proceduralDataset({ size: B.imageSize, train: B.trainViews, test: B.testViews });
  const cfg = resolveConfig(B.model, { ...B.options });
  const stopAfter = opts.iterations !== undefined ? Math.min(opts.iterations, B.options.n_iters) : undefined;
  const iters = stopAfter ?? B.options.n_iters;
  const run = new TrainingRun(ctx, dataset, cfg, {
    seed: 1,
    stopAfter,
    heldOut: { every: B.heldOutEvery, views: B.heldOutViews, share: 1 },
  });
  const stop = () => run.stop();
  opts.signal?.addEventListener('abort', stop);
  let seconds = 0;
  const heldOut: [number, number, number][] = [];
  try {
    const result = await run.run((e) => {
      if (e.type === 'step') {
        seconds = e.seconds;
        if (e.step.iter % 10 === 0) say(`training: iteration ${e.step.iter} of ${iters}`, (0.8 * e.step.iter) / iters);
      } else if (e.type === 'held-out') heldOut.push([e.iter, Number(seconds.toFixed(2)), Number(e.psnr.toFixed(2))]);
    });
    if (!result) throw new Error('The benchmark was stopped before training started.');
    say('timing renders at ranks 1, 4 and 16', 0.85);
    // The run has finished: nothing else is queued on its field.
    const render = await renderSpeed(ctx, result.field, B.renderRanks, opts.renderSize ?? B.renderSize);
    const reached = (level: number) => heldOut.find(([, , p]) => p >= level)?.[1] ?? null;
    const a = ctx.adapter;
    say('done', 1);
    return {
      benchmark: 'slimfield-app',
      version: 1,
      date: new Date().toISOString(),
      adapter: { label: a.label, vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, software: a.software },
      config:
        `procedural scene ${B.imageSize}×${B.imageSize}, ${B.trainViews} training and ${B.testViews} test views; ${B.model}, ` +
        `${B.options.n_iters} × ${B.options.batch_size} rays, grid 32³ → 64³, featureC ${B.options.featureC}; ` +
        `held-out PSNR every ${B.heldOutEvery} iterations on ${B.heldOutViews} views; renders ${B.renderSize}×${B.renderSize}`,
      iterations: result.iters,
      partial: result.iters < B.options.n_iters ? `${result.iters} of ${B.options.n_iters} iterations` : null,
      trainSeconds: Number(result.trainSeconds.toFixed(2)),
      iterationsPerSecond: Number((result.iters / Math.max(result.trainSeconds, 1e-9)).toFixed(2)),
      secondsToPsnr: Object.fromEntries(B.psnrLevels.map((l) => [String(l), reached(l)])),
      heldOut,
      finalPsnr: heldOut.at(-1)?.[2] ?? null,
      render,
      peakGpuBytes: result.peakGpuBytes,
      submissionsPerIteration: result.submissionsPerIteration,
      readbacksPerIteration: result.readbacksPerIteration,
      throttlesPerIteration: result.throttlesPerIteration,
    };
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    run.dispose();
  }
}
