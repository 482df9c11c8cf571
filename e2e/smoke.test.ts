// End-to-end smoke test of the studio shell (see harness.ts for the browser setup).

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { artifacts, NO_WEBGPU_FLAGS, pixelVariance, STATUS_TIMEOUT_MS, TEST_TIMEOUT_MS, WEBGPU_FLAGS, withStudio } from './harness.ts';

/** Opens the page, waits for the WebGPU check to settle, screenshots it (even on timeout), returns the status. */
async function openAndSettle(page: Page, url: string, shot: string): Promise<string | undefined> {
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  const status = page.getByTestId('webgpu-status');
  try {
    await status.filter({ hasText: /^WebGPU (ready|unavailable)$/ }).waitFor({ timeout: STATUS_TIMEOUT_MS });
  } finally {
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: `${artifacts}/${shot}.png` }).catch(() => undefined);
  }
  return (await status.textContent())?.trim();
}

test('studio shows WebGPU ready, adapter info and a live viewport', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    assert.equal(await openAndSettle(page, url, 'smoke'), 'WebGPU ready', `page errors: ${errors.join('\n')}`);

    const info = page.getByTestId('adapter-info');
    await info.waitFor({ timeout: 10_000 });
    const infoText = (await info.innerText()).trim();
    assert.ok(infoText.length > 0, 'adapter info is empty');
    assert.match(infoText, /maxStorageBufferBindingSize/);
    assert.match(infoText, /maxBufferSize/);
    assert.match(infoText, /maxComputeWorkgroupStorageSize/);
    assert.match(await page.locator('body').innerText(), /Open the demo scene/);

    const canvas = page.getByTestId('viewport').locator('canvas');
    await canvas.waitFor({ state: 'visible', timeout: 60_000 });
    // Let react-three-fiber render a few frames on SwiftShader.
    await page.waitForFunction(() => new Promise<boolean>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))), undefined, {
      timeout: 30_000,
    });
    await page.waitForTimeout(1_000);

    await page.screenshot({ path: `${artifacts}/smoke.png` });
    const shot = await canvas.screenshot({ timeout: 30_000 });
    await writeFile(`${artifacts}/viewport.png`, shot);
    const png = PNG.sync.read(shot);
    assert.ok(png.width > 100 && png.height > 100, `canvas is ${png.width}x${png.height}`);
    const variance = pixelVariance(png);
    assert.ok(variance > 0, 'viewport canvas is blank (zero pixel variance)');

    assert.deepEqual(
      errors.filter((e) => e.startsWith('pageerror')),
      [],
      'uncaught errors on the page',
    );

    // The README's first command opens the studio on the demo scene: /?demo.
    await page.goto(`${url}?demo`);
    await page.getByTestId('dataset-name').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('dataset-name').innerText(), /demo scene/);
    await page.getByTestId('train').waitFor({ timeout: 10_000 });
  });
});

test('without WebGPU the studio explains which browsers work (never blank)', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withStudio(NO_WEBGPU_FLAGS, async (page, url, errors) => {
    assert.equal(await openAndSettle(page, url, 'no-webgpu'), 'WebGPU unavailable', `page errors: ${errors.join('\n')}`);

    const message = page.getByTestId('no-webgpu');
    await message.waitFor({ state: 'visible', timeout: 10_000 });
    const text = await message.innerText();
    for (const browserName of ['Chrome and Edge 113+', 'Chrome 121+ on Android', 'Safari 26+', 'Firefox 141+ on Windows']) {
      assert.ok(text.includes(browserName), `message lacks "${browserName}":\n${text}`);
    }
    assert.match(text, /chrome:\/\/flags/);
    assert.match(text, /Unsafe WebGPU/);
    assert.equal(await page.getByTestId('adapter-info').count(), 0);
    assert.deepEqual(
      errors.filter((e) => e.startsWith('pageerror')),
      [],
      'uncaught errors on the page',
    );
  });
});
