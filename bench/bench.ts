// npm run bench: trains lego with the reduced configurations we compare against the original
// PyTorch TensoRF on the same kind of machine, and prints PSNR, SSIM, seconds, samples per
// second, peak GPU memory and the adapter. `--only quick,medium` picks configurations;
// `--data DIR` points at another Blender scene (default ../shared/data/lego); `--iters N` stops
// each configuration early (its schedule unchanged) to measure speed where a full run would take
// too long, and the output then says so; `--test-views N` evaluates fewer views (probes);
// `--profile` prints GPU time per kernel.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/fields/config.ts';
import { formatBytes } from '../src/gpu/context.ts';
import { log, runTraining } from '../src/cli/session.ts';
import { BENCH_CONFIGS } from './configs.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { only: { type: 'string' }, data: { type: 'string' }, iters: { type: 'string' }, 'test-views': { type: 'string' }, profile: { type: 'boolean' } },
});
const data = resolve(values.data ?? '../shared/data/lego');
if (!existsSync(data)) {
  console.error(`bench: dataset ${data} not found (pass --data DIR)`);
  process.exit(1);
}
const names = (values.only ?? 'quick,medium').split(',') as (keyof typeof BENCH_CONFIGS)[];
const rows: Record<string, unknown>[] = [];
for (const name of names) {
  const b = BENCH_CONFIGS[name];
  if (!b) {
    console.error(`bench: unknown configuration "${name}" (known: ${Object.keys(BENCH_CONFIGS).join(', ')})`);
    process.exit(1);
  }
  log(`\n=== ${name}: lego /${b.downscale}, ${b.options.n_iters} x ${b.options.batch_size} rays, ${b.model}`);
  const cfg = resolveConfig(b.model, { ...b.options });
  const stopAfter = values.iters ? Number(values.iters) : undefined;
  const testViews = values['test-views'] ? Number(values['test-views']) : b.testViews;
  const r = await runTraining({ data, preset: b.model, cfg, downscale: b.downscale, testViews, stopAfter, profile: values.profile });
  rows.push({ config: name, ...r });
  console.log(JSON.stringify({ config: name, ...r }));
}
console.log('\n| config | model | iters | seconds | s/iter | PSNR | SSIM | samples/s | peak GPU memory | adapter |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.config} | ${r.model} | ${r.iters}${r.partial ? ' (partial)' : ''} | ${r.seconds} | ${r.secondsPerIteration} | ${r.psnr} | ${r.ssim} | ${Number(r.samplesPerSecond).toLocaleString()} | ${formatBytes(Number(r.peakGpuBytes))} | ${r.adapter} |`);
}
process.exit(0);
