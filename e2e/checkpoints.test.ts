// Never lose work, in the browser: the studio saves its training run in the Origin Private File
// System; a closed tab is continued from the saved run when the studio opens again, a lost GPU
// device is replaced and training continues from the last checkpoint without a reload, and a
// full storage quota is reported while training goes on. Figures land in
// test-artifacts/e2e/checkpoints.json for the benchmarks page.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { artifacts, canvasShot, openDemo, pixelVariance, renders, STATUS_TIMEOUT_MS, WEBGPU_FLAGS, withStudio } from './harness.ts';

/** Seconds between checkpoints in these tests (the studio's default is 60). */
const EVERY_S = 4;

const iteration = async (page: Page) => Number(await page.getByTestId('iteration').textContent());
const waitIteration = (page: Page, n: number, timeout = 240_000) =>
  page.waitForFunction((k) => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= k, n, { timeout });
const savedIter = async (page: Page) => Number(await page.getByTestId('checkpoint-status').getAttribute('data-iter'));

/** Merges figures into the run's JSON artifact. */
async function record(figures: Record<string, unknown>): Promise<void> {
  const file = `${artifacts}/checkpoints.json`;
  const old = await readFile(file, 'utf8').then(JSON.parse, () => ({}));
  await writeFile(file, `${JSON.stringify({ ...old, ...figures }, null, 2)}\n`);
}

/** Opens the demo and trains with checkpoints every EVERY_S seconds until one is saved past iteration `after`. */
async function trainUntilSaved(page: Page, url: string, after: number): Promise<number> {
  await openDemo(page, url);
  await page.getByTestId('checkpoint-every').fill(String(EVERY_S));
  await page.getByTestId('train').click();
  await page.waitForFunction((k) => Number(document.querySelector('[data-testid="checkpoint-status"]')?.getAttribute('data-iter')) > k, after, {
    timeout: 300_000,
  });
  return savedIter(page);
}

test('tab kill: close the studio mid-training, open it again, resume from the saved run', { timeout: 600_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await trainUntilSaved(page, url, 20);
    const status = (await page.getByTestId('checkpoint-status').textContent())!;
    const stallMs = Number(/waited (\d+) ms/.exec(status)?.[1]);
    const rate = Number(/([\d.]+) it\/s/.exec((await page.getByTestId('progress').textContent())!)?.[1]);
    // Close the tab between two checkpoints, as a person would.
    await page.waitForTimeout((EVERY_S * 1000) / 2);
    const closedAt = await iteration(page);
    const context = page.context();
    await page.close();

    const again = await context.newPage();
    await again.goto(url);
    await again.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    await again.getByTestId('load-demo').click();
    const resume = again.getByTestId('resume-saved');
    await resume.waitFor({ timeout: 60_000 });
    await again.screenshot({ path: `${artifacts}/saved-runs.png` });
    const resumedFrom = Number(await again.getByTestId('saved-run').getAttribute('data-iter'));
    const lost = closedAt - resumedFrom;
    // At most one checkpoint interval of iterations (with one iteration of slack for the step in flight).
    assert.ok(lost >= 0 && lost <= Math.ceil(rate * EVERY_S) + 1, `lost ${lost} iterations at ${rate} it/s with a checkpoint every ${EVERY_S} s`);
    assert.match((await resume.textContent())!, new RegExp(`Resume training from iteration ${resumedFrom}`));
    await resume.click();
    await waitIteration(again, resumedFrom + 5);
    await again.waitForFunction(() => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) >= 1, null, {
      timeout: 120_000,
    });
    assert.ok(pixelVariance(await canvasShot(again, 'resumed-after-tab-kill')) > 0, 'the resumed field renders');
    await again.getByTestId('stop').click();
    await again.getByTestId('train').waitFor({ timeout: 60_000 });
    // Deleting the saved run removes it from the list.
    await again.getByTestId('delete-saved').click();
    await again.getByTestId('saved-runs').waitFor({ state: 'detached', timeout: 30_000 });
    await record({ tabKill: { everySeconds: EVERY_S, itPerSec: rate, closedAt, resumedFrom, iterationsLost: lost, stallMs } });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});

test('device loss: a destroyed GPU device is replaced and training continues from the checkpoint', { timeout: 600_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    // Keep the devices the studio makes, so the test can destroy one as a driver reset would.
    await page.addInitScript(() => {
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, ...args: Parameters<GPUAdapter['requestDevice']>) {
        const device = await request.apply(this, args);
        const w = window as unknown as { devices?: GPUDevice[] };
        w.devices = [...(w.devices ?? []), device];
        return device;
      };
    });
    const saved = await trainUntilSaved(page, url, 10);
    const before = await iteration(page);
    await page.evaluate(() => (window as unknown as { devices: GPUDevice[] }).devices.at(-1)!.destroy());
    const notice = page.getByTestId('notice');
    await notice.filter({ hasText: 'Continued on a new device' }).waitFor({ timeout: 60_000 });
    const text = (await notice.textContent())!;
    assert.match(text, /The GPU device was lost/);
    const from = Number(/checkpoint at iteration (\d+)/.exec(text)?.[1]);
    assert.ok(from >= saved && from <= before, `continued from iteration ${from} (saved ${saved}, at ${before} when lost)`);
    // Training goes on from the checkpoint, on a new device, and the viewport renders again.
    const rendersThen = await renders(page);
    await waitIteration(page, before + 5);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) >= n + 1, rendersThen, {
      timeout: 120_000,
    });
    assert.ok(pixelVariance(await canvasShot(page, 'after-device-loss')) > 0, 'the viewport renders after the device was replaced');
    await page.screenshot({ path: `${artifacts}/device-loss.png` });
    assert.equal(await page.evaluate(() => (window as unknown as { devices: GPUDevice[] }).devices.length), 2, 'one new device');
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    await record({ deviceLoss: { savedAt: saved, lostAt: before, continuedFrom: from } });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});

test('storage full: a checkpoint refused by the quota is reported and training goes on', { timeout: 600_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    // A real quota, enforced by the browser: far below one checkpoint of the demo.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: 64 * 1024 });
    await openDemo(page, url);
    await page.getByTestId('checkpoint-every').fill(String(EVERY_S));
    await page.getByTestId('train').click();
    const problem = page.getByTestId('checkpoint-problem');
    await problem.waitFor({ timeout: 300_000 });
    const message = (await problem.textContent())!;
    assert.match(
      message,
      /could not be saved: the browser's storage quota for this page is exhausted \(it reports .* in use\); delete saved runs or free disk space\. Training goes on\./,
    );
    const at = await iteration(page);
    await waitIteration(page, at + 5);
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    await record({ quota: { message } });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
