// Shared browser-test harness: an in-process Vite dev server and Debian's chromium driven by
// playwright-core, with WebGPU on SwiftShader (CPU), so no GPU is needed. Never downloads a
// browser: set SLIMFIELD_CHROMIUM to use a chromium other than /usr/bin/chromium.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { createServer, type ViteDevServer } from 'vite';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const artifacts = `${root}test-artifacts/e2e`;
export const executablePath = process.env.SLIMFIELD_CHROMIUM ?? '/usr/bin/chromium';

export const COMMON_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
// WebGPU (and WebGL) through ANGLE on Vulkan SwiftShader. Playwright gives each launch a fresh
// temporary --user-data-dir of its own (passing one in args is rejected).
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--use-vulkan=swiftshader',
  '--enable-unsafe-swiftshader',
  ...COMMON_FLAGS,
];
// WebGPU is off by default on Linux; disable it explicitly so the result does not depend on that.
export const NO_WEBGPU_FLAGS = ['--disable-features=WebGPU', ...COMMON_FLAGS];

export const STATUS_TIMEOUT_MS = 90_000;
export const TEST_TIMEOUT_MS = 180_000;

export async function startServer(): Promise<{ server: ViteDevServer; url: string }> {
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

export async function launch(args: string[]): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: install Debian's chromium package (apt-get install chromium)`);
  }
  return chromium.launch({ executablePath, headless: true, args, timeout: 60_000 });
}

/** Collects uncaught page errors and console errors so failures say what went wrong. */
export function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  return errors;
}

/** Opens the studio, waits for WebGPU and opens the built-in demo scene (artifacts folder ready). */
export async function openDemo(page: Page, url: string): Promise<void> {
  await mkdir(artifacts, { recursive: true });
  await page.goto(url);
  await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
  await page.getByTestId('load-demo').click();
  await page.getByTestId('dataset-name').waitFor({ timeout: 60_000 });
}

/**
 * Writes a capture's files (relative paths) into a new folder `name` under the system's temporary
 * folder, and returns the folder's path.
 */
export function captureFolder(name: string, files: Iterable<readonly [string, Uint8Array]>): string {
  const folder = join(mkdtempSync(join(tmpdir(), 'slimfield-')), name);
  for (const [p, bytes] of files) {
    mkdirSync(join(folder, p, '..'), { recursive: true });
    writeFileSync(join(folder, p), bytes);
  }
  return folder;
}

/** Opens the studio, waits for WebGPU and opens a capture folder at full size (artifacts folder ready). */
export async function openFolder(page: Page, url: string, folder: string): Promise<void> {
  await mkdir(artifacts, { recursive: true });
  await page.goto(url);
  await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
  await page.getByTestId('downscale').selectOption('1');
  await page.getByTestId('open-folder').setInputFiles(folder);
}

/**
 * Drops files or folders from disk on an element, as a person dragging them from a file manager
 * would (Chromium's DevTools drag events: a folder arrives as a directory entry to walk).
 */
export async function dropPaths(page: Page, testId: string, paths: string[]): Promise<void> {
  const box = (await page.getByTestId(testId).boundingBox())!;
  const cdp = await page.context().newCDPSession(page);
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  await cdp.detach();
}

/** How many times the neural viewport has drawn (its data-renders counter). */
/**
 * Real driver refusals in the page: SwiftShader cannot allocate a buffer of its whole
 * maxBufferSize (1 GiB), so from the next page load on, createBuffer makes the buffers whose
 * labels start with `window.starve` ask for that much. `prefix` is what `window.starve` starts as
 * (allocations made while the page loads); `starve` changes it later.
 */
export async function starveOnLoad(page: Page, prefix: string | null = null): Promise<void> {
  await page.addInitScript((initial) => {
    const create = GPUDevice.prototype.createBuffer;
    GPUDevice.prototype.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
      const starved = (window as unknown as { starve?: string | null }).starve;
      return create.call(this, starved && d.label?.startsWith(starved) ? { ...d, size: this.limits.maxBufferSize } : d);
    };
    Object.assign(window, { starve: initial });
  }, prefix);
}

/** The buffers the page refuses from now on (starveOnLoad); null: none. */
export const starve = (page: Page, prefix: string | null) => page.evaluate((p) => Object.assign(window, { starve: p }), prefix);

export const renders = async (page: Page) => Number((await page.getByTestId('render-canvas').getAttribute('data-renders')) ?? 0);

/**
 * Waits until the progressive canvas `testId` shows a completed frame at its full backing size
 * (its CSS size times the device-pixel ratio), so screenshots compare like with like.
 */
export async function fullFrame(page: Page, testId = 'render-canvas', timeout = 240_000): Promise<void> {
  await page.waitForFunction(
    (id) => {
      const c = document.querySelector(`[data-testid="${id}"]`) as HTMLCanvasElement | null;
      return c !== null && c.width === Math.round(c.clientWidth * devicePixelRatio) && c.dataset.frameSize === `${c.width}x${c.height}`;
    },
    testId,
    { timeout },
  );
}

/** A completed frame of a progressive canvas: its data-frame-size, the canvas's backing size, and its sharpness. */
export interface Frame {
  size: string;
  backing: string;
  /**
   * Mean squared luminance step between neighbouring pixels of the whole canvas: an edge blurred
   * over w pixels gives 1/w of it (the mean absolute step would not change with blur).
   */
  sharpness: number;
}

/**
 * Runs `act` (a camera move) and records every frame the progressive canvas `testId` completes
 * after it, until one fills the canvas's backing size. The record is taken in the page as each
 * frame completes (a mutation observer on data-renders, set right after the frame's last paint).
 */
export async function framesUntilFull(page: Page, testId: string, act: () => Promise<void>, timeout: number): Promise<Frame[]> {
  await page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`) as HTMLCanvasElement;
    const w = window as unknown as { __frames: Frame[]; __observer?: MutationObserver };
    w.__observer?.disconnect();
    w.__frames = [];
    w.__observer = new MutationObserver(() => {
      // (No named helper functions in here: tsx would wrap them in a __name the page lacks.)
      const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      const luma = new Float32Array(c.width * c.height);
      for (let i = 0; i < luma.length; i++) luma[i] = 0.299 * data[i * 4]! + 0.587 * data[i * 4 + 1]! + 0.114 * data[i * 4 + 2]!;
      let steps = 0;
      for (let y = 0; y + 1 < c.height; y++) {
        for (let x = 0; x + 1 < c.width; x++) {
          const i = y * c.width + x;
          steps += (luma[i + 1]! - luma[i]!) ** 2 + (luma[i + c.width]! - luma[i]!) ** 2;
        }
      }
      w.__frames.push({ size: c.dataset.frameSize ?? '', backing: `${c.width}x${c.height}`, sharpness: steps / (c.width * c.height) });
    });
    w.__observer.observe(c, { attributes: true, attributeFilter: ['data-renders'] });
  }, testId);
  await act();
  const frames = () => page.evaluate(() => (window as unknown as { __frames: Frame[] }).__frames);
  await page
    .waitForFunction(
      () => {
        const f = (window as unknown as { __frames: Frame[] }).__frames.at(-1);
        return f !== undefined && f.size === f.backing;
      },
      null,
      { timeout },
    )
    .catch(async (e: Error) => {
      throw new Error(`${e.message}; the frames completed: ${(await frames()).map((f) => `${f.size} of ${f.backing}`).join(', ') || 'none'}`);
    });
  return frames();
}

/** Screenshot of the neural viewport, saved as an artifact and decoded. */
export async function canvasShot(page: Page, name: string): Promise<PNG> {
  const shot = await page.getByTestId('render-canvas').screenshot();
  await writeFile(`${artifacts}/${name}.png`, shot);
  return PNG.sync.read(shot);
}

/**
 * The viewport canvas's own pixels at its backing size (saved as an artifact and decoded): unlike
 * an element screenshot, never a pixel taller or shorter when the layout puts it at a fraction.
 */
export async function canvasPixels(page: Page, name: string, testId = 'render-canvas'): Promise<PNG> {
  const url = await page.getByTestId(testId).evaluate((c: HTMLCanvasElement) => c.toDataURL('image/png'));
  const bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  await writeFile(`${artifacts}/${name}.png`, bytes);
  return PNG.sync.read(bytes);
}

/** Mean absolute difference of the red and green channels per pixel. */
export function difference(a: PNG, b: PNG): number {
  let d = 0;
  for (let i = 0; i < a.data.length; i += 4) d += Math.abs(a.data[i]! - b.data[i]!) + Math.abs(a.data[i + 1]! - b.data[i + 1]!);
  return d / (a.width * a.height);
}

export function pixelVariance(png: PNG): number {
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

/**
 * Runs `body` against a fresh dev server and browser (1280x800 page, errors collected), and
 * always closes both.
 */
export async function withStudio(flags: string[], body: (page: Page, url: string, errors: string[]) => Promise<void>): Promise<void> {
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  try {
    const started = await startServer();
    server = started.server;
    browser = await launch(flags);
    // A context of its own, so a test can close the page and open the studio again with the same storage.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = watch(page);
    try {
      await body(page, started.url, errors);
    } catch (e) {
      // What the page showed when the test failed, and its text, for the CI artifacts.
      await mkdir(artifacts, { recursive: true });
      const name = `failure-${Date.now()}`;
      await page.screenshot({ path: `${artifacts}/${name}.png` }).catch(() => undefined);
      const text = await page
        .locator('body')
        .innerText()
        .catch(() => '');
      await writeFile(`${artifacts}/${name}.txt`, `${(e as Error).message}\n\n${text}\n\n${errors.join('\n')}`).catch(() => undefined);
      throw e;
    }
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  }
}
