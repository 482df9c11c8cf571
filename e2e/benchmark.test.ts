// The in-app benchmark page (?bench): a quick run on SwiftShader trains the procedural scene,
// times renders at ranks 1, 4 and 16, and gives its result as JSON (printed here for the docs).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { AppBenchmarkResult } from '../src/run/app-benchmark.ts';
import { artifacts, STATUS_TIMEOUT_MS, WEBGPU_FLAGS, withStudio } from './harness.ts';

test('in-app benchmark: a quick run reports speed, PSNR, render speed by rank, memory and the adapter as JSON', { timeout: 600_000 }, async () => {
  await mkdir(artifacts, { recursive: true });
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await page.goto(`${url}?bench&iters=20&render=64`);
    await page.getByTestId('bench-adapter').filter({ hasText: 'GPU:' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    await page.getByTestId('bench-run').click();
    await page.getByTestId('bench-progress').waitFor({ timeout: 60_000 });
    await page.getByTestId('bench-json').waitFor({ timeout: 480_000 });
    const text = (await page.getByTestId('bench-json').textContent())!;
    await writeFile(`${artifacts}/benchmark.json`, text);
    await page.screenshot({ path: `${artifacts}/benchmark.png`, fullPage: true });
    console.log(`# in-app benchmark: ${JSON.stringify(JSON.parse(text))}`);
    const r = JSON.parse(text) as AppBenchmarkResult;
    assert.equal(r.benchmark, 'slimfield-app');
    assert.equal(r.iterations, 20);
    assert.match(r.partial ?? '', /^20 of \d+ iterations$/);
    assert.ok(r.iterationsPerSecond > 0 && r.trainSeconds > 0, 'training speed');
    assert.deepEqual(
      r.heldOut.map(([iter]) => iter),
      [20],
      'held-out PSNR every 20 iterations',
    );
    assert.ok(r.finalPsnr !== null && r.finalPsnr > 5 && r.finalPsnr < 60, `held-out PSNR ${r.finalPsnr}`);
    assert.deepEqual(Object.keys(r.secondsToPsnr), ['15', '20', '25']);
    assert.deepEqual(
      r.render.map((x) => x.rank),
      [1, 4, 16],
    );
    for (const x of r.render) assert.ok(x.size === 64 && x.ms > 0 && x.megapixelsPerSecond > 0, `render at rank ${x.rank}`);
    assert.ok(r.peakGpuBytes > 0);
    assert.equal(r.adapter.software, true, 'SwiftShader is reported as a software adapter');
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
