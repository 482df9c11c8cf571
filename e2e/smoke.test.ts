// End-to-end smoke test of the studio shell: a Vite dev server started in-process and Debian's
// chromium driven by playwright-core. WebGPU runs on SwiftShader (CPU), so no GPU is needed.
// Never downloads a browser: set SLIMFIELD_CHROMIUM to use a chromium other than /usr/bin/chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { PNG } from 'pngjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = `${root}test-artifacts/e2e`;
const executablePath = process.env.SLIMFIELD_CHROMIUM ?? '/usr/bin/chromium';

const COMMON_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
// WebGPU (and WebGL) through ANGLE on Vulkan SwiftShader. Playwright gives each launch a fresh
// temporary --user-data-dir of its own (passing one in args is rejected).
const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--use-vulkan=swiftshader',
  '--enable-unsafe-swiftshader',
  ...COMMON_FLAGS,
];
// WebGPU is off by default on Linux; disable it explicitly so the result does not depend on that.
const NO_WEBGPU_FLAGS = ['--disable-features=WebGPU', ...COMMON_FLAGS];

const STATUS_TIMEOUT_MS = 90_000;
const TEST_TIMEOUT_MS = 180_000;

async function startServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root,
    configFile: `${root}vite.config.ts`,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const address = server.httpServer?.address() as AddressInfo | string | null | undefined;
  if (!address || typeof address === 'string') throw new Error(`unexpected dev server address: ${String(address)}`);
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

async function launch(args: string[]): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: install Debian's chromium package (apt-get install chromium)`);
  }
  return chromium.launch({ executablePath, headless: true, args, timeout: 60_000 });
}

/** Collects uncaught page errors and console errors so failures say what went wrong. */
function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  return errors;
}

function pixelVariance(png: PNG): number {
  const n = png.width * png.height;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const l = 0.299 * png.data[o]! + 0.587 * png.data[o + 1]! + 0.114 * png.data[o + 2]!;
    sum += l;
    sumSq += l * l;
  }
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

test('studio shows WebGPU ready, adapter info and a live viewport', { timeout: TEST_TIMEOUT_MS }, async () => {
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  try {
    const started = await startServer();
    server = started.server;
    browser = await launch(WEBGPU_FLAGS);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watch(page);
    await page.goto(started.url, { waitUntil: 'load', timeout: 60_000 });

    const status = page.getByTestId('webgpu-status');
    try {
      await status.filter({ hasText: /^WebGPU (ready|unavailable)$/ }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    } finally {
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}/smoke.png` }).catch(() => undefined);
    }
    assert.equal((await status.textContent())?.trim(), 'WebGPU ready', `page errors: ${errors.join('\n')}`);

    const info = page.getByTestId('adapter-info');
    await info.waitFor({ timeout: 10_000 });
    const infoText = (await info.innerText()).trim();
    assert.ok(infoText.length > 0, 'adapter info is empty');
    assert.match(infoText, /maxStorageBufferBindingSize/);
    assert.match(infoText, /maxBufferSize/);
    assert.match(infoText, /maxComputeWorkgroupStorageSize/);
    assert.match(await page.locator('body').innerText(), /Training controls arrive with the engine/);

    const canvas = page.getByTestId('viewport').locator('canvas');
    await canvas.waitFor({ state: 'visible', timeout: 60_000 });
    // Let react-three-fiber render a few frames on SwiftShader.
    await page.waitForFunction(() => new Promise<boolean>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))), undefined, { timeout: 30_000 });
    await page.waitForTimeout(1_000);

    await page.screenshot({ path: `${artifacts}/smoke.png` });
    const shot = await canvas.screenshot({ timeout: 30_000 });
    await writeFile(`${artifacts}/viewport.png`, shot);
    const png = PNG.sync.read(shot);
    assert.ok(png.width > 100 && png.height > 100, `canvas is ${png.width}x${png.height}`);
    const variance = pixelVariance(png);
    assert.ok(variance > 0, 'viewport canvas is blank (zero pixel variance)');

    assert.deepEqual(errors.filter((e) => e.startsWith('pageerror')), [], 'uncaught errors on the page');
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  }
});

test('without WebGPU the studio explains which browsers work (never blank)', { timeout: TEST_TIMEOUT_MS }, async () => {
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  try {
    const started = await startServer();
    server = started.server;
    browser = await launch(NO_WEBGPU_FLAGS);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watch(page);
    await page.goto(started.url, { waitUntil: 'load', timeout: 60_000 });

    const status = page.getByTestId('webgpu-status');
    try {
      await status.filter({ hasText: /^WebGPU (ready|unavailable)$/ }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    } finally {
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}/no-webgpu.png` }).catch(() => undefined);
    }
    assert.equal((await status.textContent())?.trim(), 'WebGPU unavailable', `page errors: ${errors.join('\n')}`);

    const message = page.getByTestId('no-webgpu');
    await message.waitFor({ state: 'visible', timeout: 10_000 });
    const text = await message.innerText();
    for (const browserName of ['Chrome and Edge 113+', 'Chrome 121+ on Android', 'Safari 26+', 'Firefox 141+ on Windows']) {
      assert.ok(text.includes(browserName), `message lacks "${browserName}":\n${text}`);
    }
    assert.match(text, /chrome:\/\/flags/);
    assert.match(text, /Unsafe WebGPU/);
    assert.equal(await page.getByTestId('adapter-info').count(), 0);
    assert.deepEqual(errors.filter((e) => e.startsWith('pageerror')), [], 'uncaught errors on the page');
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  }
});
