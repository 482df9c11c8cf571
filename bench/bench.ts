// npm run bench: trains lego with the reduced configurations we compare against the original
// PyTorch TensoRF on the same kind of machine (and the fox phone capture, a real one), and prints PSNR, SSIM, seconds, samples per
// second, peak GPU memory and the adapter; then the SlimmeRF-16 against truncated VM-192 slimming
// table. `--only a,b` picks configurations; `--data DIR` points at another Blender scene (default
// ../shared/data/lego); `--iters N` stops each configuration early (its schedule unchanged);
// `--test-views N` evaluates fewer views; `--minutes M` trains each configuration at most M
// minutes and then evaluates what it reached (marked partial); `--profile` prints GPU time per kernel;
// `--render-size N` sets the side of the timed renders of the trained lego model (default 800, 200 on
// a software adapter); `--sfm-poses FILE` gives slim-vm192-sfm-poses and fox-slim-sfm-poses the poses `npm run bench:sfm --
// --write-poses FILE` computed;
// `--app [--iters N] [--render-size N]` runs the studio's in-app benchmark (src/run/app-benchmark.ts) instead and prints its JSON.
//
// On a software adapter (SwiftShader) the quick and medium runs would take hours, so they train
// for a fixed time as speed probes and are not evaluated (see BenchConfig.softwareProbeMinutes);
// `--full` runs them to the end anyway. The output says which rows are probes.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { poseError } from '../src/camera/align.ts';
import { loadModel, log, openDataset } from '../src/cli/node-io.ts';
import { type RankPoint, runTraining } from '../src/cli/run-training.ts';
import type { Dataset, PosedView } from '../src/data/types.ts';
import { perturbCameras } from '../src/eval/poses.ts';
import { type RenderSpeedRow, renderSpeed } from '../src/eval/render-speed.ts';
import { formatBytes } from '../src/gpu/context.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { runAppBenchmark } from '../src/run/app-benchmark.ts';
import { resolveConfig } from '../src/train/config.ts';
import { modelFiles, ngpAsColmap } from '../test/fixtures/colmap.ts';
import { BENCH_CONFIGS, DEFAULT_BENCH } from './configs.ts';
import { renderSpeedTable } from './render-speed.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: 'string' },
    'sfm-poses': { type: 'string' },
    data: { type: 'string' },
    iters: { type: 'string' },
    'test-views': { type: 'string' },
    profile: { type: 'boolean' },
    full: { type: 'boolean' },
    minutes: { type: 'string' },
    'render-size': { type: 'string' },
    app: { type: 'boolean' },
  },
});
/**
 * A configuration's dataset folder: ../shared/data/<scene>, or --data for lego. `fox-colmap` is the
 * fox (see foxAsColmap).
 */
const dataOf = (scene = 'lego') =>
  scene.startsWith('builtin:') ? scene : resolve(scene === 'lego' && values.data ? values.data : `../shared/data/${scene === 'fox-colmap' ? 'fox' : scene}`);

/**
 * The fox's transforms.json written as a COLMAP binary model in a temporary folder, its images/
 * a link to the capture's (nothing copied): the same photos and poses through the COLMAP reader.
 */
async function foxAsColmap(fox: string): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'slimfield-')), 'fox-colmap');
  const json = JSON.parse(await readFile(join(fox, 'transforms.json'), 'utf8'));
  for (const [path, bytes] of modelFiles(ngpAsColmap(json), 'sparse/0/', 'bin')) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  await symlink(join(fox, 'images'), join(dir, 'images'));
  return dir;
}
/** The dataset with its training cameras perturbed (pose refinement's harness), and their error. */
function withPoseNoise(ds: Dataset, sigma: number | undefined): { dataset: Dataset; poseNoise: Record<string, unknown>; truePoses?: PosedView[] } {
  if (sigma === undefined) return { dataset: ds, poseNoise: {} };
  const train = ds.splits.train!;
  const cameras = perturbCameras(train.cameras, sigma, 1);
  const e = poseError(cameras, train.cameras);
  log(`training poses perturbed by σ = ${sigma} in se(3): ${e.rotationDeg.toFixed(2)}° and ${e.translation.toFixed(3)} units per camera on average`);
  return {
    dataset: { ...ds, splits: { ...ds.splits, train: { ...train, cameras } } },
    poseNoise: { poseNoise: { sigma, rotationDeg: +e.rotationDeg.toFixed(3), translation: +e.translation.toFixed(4) } },
    truePoses: train.cameras,
  };
}
/** The dataset with structure from motion's training poses and focal length (bench:sfm --write-poses), the photos it did not place left out. */
async function withSfmPoses(
  name: string,
  ds: Dataset,
  file: string | undefined,
): Promise<{ dataset: Dataset; sfmPoses: Record<string, unknown>; truePoses: PosedView[] }> {
  if (!file) throw new Error(`${name} needs --sfm-poses FILE (npm run bench:sfm -- --write-poses FILE)`);
  const rec = JSON.parse(await readFile(file, 'utf8')) as { capture: string; width: number; focalPx: number; k1: number; views: Record<string, number[]> };
  const scene = BENCH_CONFIGS[name]!.scene ?? 'lego';
  if (rec.capture !== scene) throw new Error(`${name} trains on ${scene}, but ${file} holds the poses of ${rec.capture}`);
  const train = ds.splits.train!;
  const keep = train.names.map((_, i) => i).filter((i) => rec.views[train.names[i]!]);
  const f = (rec.focalPx * train.width) / rec.width;
  // Our intrinsics as well (SIMPLE_RADIAL: one focal length, the principal point at the centre, k1).
  const cameras = keep.map((i) => {
    const { width, height } = train.cameras[i]!;
    const c2w = Float64Array.from(rec.views[train.names[i]!]!);
    if (BENCH_CONFIGS[name]!.trueIntrinsics) return { ...train.cameras[i]!, c2w };
    return { width, height, fx: f, fy: f, cx: width / 2, cy: height / 2, distortion: { k1: rec.k1, k2: 0, p1: 0, p2: 0 }, c2w };
  });
  const truePoses = keep.map((i) => train.cameras[i]!);
  const e = poseError(cameras, truePoses);
  log(
    `structure from motion's poses of ${keep.length} of ${train.names.length} training views: ${e.rotationDeg.toFixed(3)}° and ${e.translation.toFixed(4)} units per camera on average, focal length ${f.toFixed(2)} px for the true ${train.cameras[0]!.fx.toFixed(2)}`,
  );
  return {
    dataset: {
      ...ds,
      splits: { ...ds.splits, train: { ...train, names: keep.map((i) => train.names[i]!), images: keep.map((i) => train.images[i]!), cameras } },
    },
    sfmPoses: {
      sfmPoses: {
        file,
        placed: keep.length,
        of: train.names.length,
        rotationDeg: +e.rotationDeg.toFixed(3),
        translation: +e.translation.toFixed(4),
        focalPx: +f.toFixed(2),
      },
    },
    truePoses,
  };
}
const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
if (minutes !== undefined && !(minutes > 0)) {
  console.error(`bench: --minutes takes a positive number, not "${values.minutes}"`);
  process.exit(1);
}
const names = values.only ? values.only.split(',') : DEFAULT_BENCH;
for (const name of names) {
  if (!BENCH_CONFIGS[name]) {
    console.error(`bench: unknown configuration "${name}" (known: ${Object.keys(BENCH_CONFIGS).join(', ')})`);
    process.exit(1);
  }
  const data = dataOf(BENCH_CONFIGS[name]!.scene);
  if (!data.startsWith('builtin:') && !existsSync(data)) {
    console.error(`bench: dataset ${data} not found (pass --data DIR for lego)`);
    process.exit(1);
  }
}
const ctx = await nodeGpu();
if (values.app) {
  const result = await runAppBenchmark(ctx, {
    iterations: values.iters ? Number(values.iters) : undefined,
    renderSize: values['render-size'] ? Number(values['render-size']) : undefined,
    onProgress: (message, fraction) => log(`app benchmark: ${message} (${Math.round(fraction * 100)}%)`),
  });
  console.log(JSON.stringify(result));
  process.exit(0);
}
log(`bench adapter: ${ctx.adapter.label}${ctx.adapter.software ? ' (software: quick and medium run as timed speed probes; --full for whole runs)' : ''}`);
// 800×800 renders of a dense lego model take SwiftShader minutes each: there, 200×200 by default.
const renderSize = Number(values['render-size'] ?? (ctx.adapter.software ? 200 : 800));
const rows: Record<string, unknown>[] = [];
const renderRows: (RenderSpeedRow & { config: string })[] = [];
const scratch = await mkdtemp(join(tmpdir(), 'slimfield-bench-'));
const started = performance.now();
const datasets = new Map<string, Dataset>();
for (const name of names) {
  const b = BENCH_CONFIGS[name]!;
  const probe = ctx.adapter.software && !values.full && minutes === undefined && b.softwareProbeMinutes !== undefined;
  log(
    `\n=== ${name}: ${b.scene ?? 'lego'} /${b.downscale}, ${b.options.n_iters} x ${b.options.batch_size} rays, ${b.model}${probe ? `, ${b.softwareProbeMinutes} min speed probe` : ''}`,
  );
  const cfg = resolveConfig(b.model, { ...b.options });
  const data = dataOf(b.scene);
  const key = `${b.scene === 'fox-colmap' ? 'fox-colmap' : data}/${b.downscale}`;
  if (!datasets.has(key)) datasets.set(key, await openDataset(b.scene === 'fox-colmap' ? await foxAsColmap(data) : data, b.downscale, ['train', 'test']));
  const { dataset, poseNoise, truePoses } = b.sfmPoses
    ? await withSfmPoses(name, datasets.get(key)!, values['sfm-poses']).then((r) => ({ ...r, poseNoise: r.sfmPoses }))
    : withPoseNoise(datasets.get(key)!, b.poseNoise);
  const r = await runTraining({
    dataset,
    data,
    preset: b.model,
    cfg,
    downscale: b.downscale,
    testViews: values['test-views'] ? Number(values['test-views']) : b.testViews,
    stopAfter: values.iters ? Number(values.iters) : undefined,
    budgetSeconds: probe ? b.softwareProbeMinutes! * 60 : minutes !== undefined ? minutes * 60 : undefined,
    skipEvaluation: probe,
    ranks: b.ranks,
    profile: values.profile,
    out: b.renderRanks ? join(scratch, `${name}.slim`) : undefined,
    truePoses,
  });
  rows.push({ config: name, ...r, ...poseNoise });
  console.log(JSON.stringify({ config: name, ...r, ...poseNoise }));
  if (b.renderRanks) {
    const { field } = await loadModel(ctx, join(scratch, `${name}.slim`));
    for (const row of await renderSpeed(ctx, field, b.renderRanks, renderSize)) {
      renderRows.push({ config: name, ...row });
      console.log(JSON.stringify({ config: name, render: row }));
    }
    field.destroy();
  }
}
await rm(scratch, { recursive: true, force: true });

const cell = (v: unknown) => (v === undefined ? '–' : String(v));
console.log(`\nbench finished in ${((performance.now() - started) / 60000).toFixed(1)} min on ${ctx.adapter.label}`);
console.log(
  '\n| config | model | iters | seconds | s/iter | PSNR | SSIM | params | samples/s | peak GPU memory | submits/iter | readbacks/iter | throttles/iter | adapter |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.config} | ${r.model} | ${r.iters}${r.partial ? ` (${r.partial})` : ''} | ${r.seconds} | ${r.secondsPerIteration} | ${cell(r.psnr)} | ${cell(r.ssim)} | ` +
      `${Number(r.params).toLocaleString()} | ${Number(r.samplesPerSecond).toLocaleString()} | ${formatBytes(Number(r.peakGpuBytes))} | ` +
      `${r.submissionsPerIteration} | ${r.readbacksPerIteration} | ${cell(r.throttlesPerIteration)} | ${r.adapter} |`,
  );
}
const curves = rows.filter((r) => r.rankCurve) as (Record<string, unknown> & { rankCurve: RankPoint[] })[];
if (curves.length) {
  const ranks = [...new Set(curves.flatMap((r) => r.rankCurve.map((p) => p.rank)))].sort((a, b) => a - b);
  console.log('\nPSNR (dB) on the test views by kept rank (fp32 model file size at that rank):\n');
  console.log(`| model | ${ranks.join(' | ')} |`);
  console.log(`|---|${ranks.map(() => '---').join('|')}|`);
  for (const r of curves) {
    const at = (k: number) => r.rankCurve.find((p) => p.rank === k);
    console.log(
      `| ${r.model}${r.rank !== undefined ? ` (TRaIn reached rank ${r.rank})` : ''} | ${ranks.map((k) => (at(k) ? `${at(k)!.psnr.toFixed(2)} (${formatBytes(at(k)!.bytes)})` : '–')).join(' | ')} |`,
    );
  }
}
process.exit(0);
if (renderRows.length) {
  console.log(`\nRender speed of the trained models (${renderSize}×${renderSize} from an orbit camera; bench/render-speed.ts):\n`);
  console.log(renderSpeedTable(renderRows, ctx.adapter.label));
}
