// Nothing leaves the machine: a whole session on the production build (open the studio and the
// demo, train, export a scene file, open it again in the studio and in the viewer, reload the
// studio) requests nothing beyond the page's own origin, and the pages' Content-Security-Policy
// blocks a request elsewhere. Runs on `vite build` served by `vite preview`, so the policy tested
// is the strict one users get.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build, preview } from 'vite';
import { launch, root, STATUS_TIMEOUT_MS, WEBGPU_FLAGS, watch } from './harness.ts';

test('a full session requests nothing beyond its own origin, and the policy blocks anything else', { timeout: 600_000 }, async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'slimfield-dist-'));
  await build({ root, configFile: `${root}vite.config.ts`, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server = await preview({
    root,
    configFile: `${root}vite.config.ts`,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  const url = `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}/`;
  const browser = await launch(WEBGPU_FLAGS);
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    const page = await context.newPage();
    const errors = watch(page);

    await page.goto(url);
    await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    await page.getByTestId('load-demo').click();
    await page.getByTestId('dataset-name').waitFor({ timeout: 60_000 });
    await page.getByTestId('train').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= 15, null, { timeout: 240_000 });
    await page.getByTestId('stop').click();
    await page.getByTestId('export-scene').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('[data-testid="export-scene"]')?.disabled, null, { timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-scene').click()]);
    const scene = join(outDir, download.suggestedFilename());
    await download.saveAs(scene);

    // Open the exported file in the studio, then in the viewer.
    await page.getByTestId('open-scene').setInputFiles(scene);
    await page.getByTestId('scene-name').waitFor({ timeout: 60_000 });
    await page.goto(`${url}viewer.html`);
    await page.getByTestId('viewer-file').setInputFiles(scene);
    await page.getByTestId('viewer-status').filter({ hasText: 'rank groups' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    // A scene address on another site is refused before anything is fetched.
    await page.goto(`${url}viewer.html?scene=https://example.com/x.slimscene`);
    await page.locator('[data-testid="viewer-status"].error').waitFor({ timeout: STATUS_TIMEOUT_MS });
    assert.match((await page.getByTestId('viewer-status').textContent())!, /the viewer opens scenes from this site only/);

    // Reopen the studio: the run saved while training is offered.
    await page.goto(url);
    await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    await page.getByTestId('saved-run').waitFor({ timeout: 60_000 });

    const own = new URL(url).origin;
    const elsewhere = requests.filter((r) => !r.startsWith('data:') && !r.startsWith('blob:') && new URL(r).origin !== own);
    assert.deepEqual(elsewhere, [], `requests beyond ${own}`);
    assert.ok(requests.length > 5, `the session was recorded (${requests.length} requests)`);
    assert.deepEqual(errors, [], errors.join('\n'));

    // The policy itself: a request elsewhere is blocked by the browser, in the studio and the viewer.
    for (const page_ of [url, `${url}viewer.html`]) {
      await page.goto(page_);
      const blocked = await page.evaluate(async () => {
        const violation = new Promise<string>((ok) => document.addEventListener('securitypolicyviolation', (e) => ok(e.effectiveDirective), { once: true }));
        await fetch('https://example.com/').catch(() => undefined);
        return violation;
      });
      assert.equal(blocked, 'connect-src', `${page_}: a fetch elsewhere is blocked by connect-src`);
    }
  } finally {
    await browser.close().catch(() => undefined);
    await new Promise<void>((ok) => server.httpServer.close(() => ok()));
    await rm(outDir, { recursive: true, force: true });
  }
});
