// The studio from a new user's first click: open the demo scene, train, watch the neural
// viewport change as training goes on and as the camera orbits and flies, pause and resume, and
// check the page stays responsive throughout. Screenshots land in test-artifacts/e2e/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { artifacts, canvasShot, difference, type Frame, framesUntilFull, openDemo, pixelVariance, renders, WEBGPU_FLAGS, withStudio } from './harness.ts';

const iteration = async (page: Page) => Number(await page.getByTestId('iteration').textContent());
/** Milliseconds for the page to answer a trivial evaluation: the main thread's responsiveness. */
async function responseMs(page: Page): Promise<number> {
  const t0 = performance.now();
  await page.evaluate(() => 1);
  return performance.now() - t0;
}

test('demo scene: train, live viewport, orbit, pause and resume, responsive page', { timeout: 600_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await openDemo(page, url);
    await page.getByTestId('train').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= 10, null, { timeout: 240_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) >= 2, null, {
      timeout: 120_000,
    });
    const early = await canvasShot(page, 'studio-early');
    assert.ok(pixelVariance(early) > 0, 'the neural viewport is not blank');

    // Responsive while training: several probes, each answered within 100 ms.
    const probes: number[] = [];
    for (let i = 0; i < 5; i++) probes.push(await responseMs(page));
    assert.ok(Math.max(...probes) < 100, `main thread answers within 100 ms while training (${probes.map((p) => p.toFixed(0)).join(', ')} ms)`);

    // Train until the scene has taken shape (past the bootstrap, where the field is still
    // almost empty), then pause: the iteration counter stops; resume: it moves again.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= 120, null, { timeout: 300_000 });
    await page.getByTestId('pause').click();
    await page.getByTestId('resume').waitFor();
    const pausedAt = await iteration(page);
    await page.waitForTimeout(3000);
    assert.ok((await iteration(page)) <= pausedAt + 1, 'no progress while paused');
    // The live chart carries held-out PSNR measured during training (every 25 iterations).
    await page.getByTestId('test-psnr').waitFor({ timeout: 60_000 });
    const heldOut = Number(await page.getByTestId('test-psnr').textContent());
    assert.ok(heldOut > 8 && heldOut < 60, `held-out PSNR ${heldOut} dB on the chart`);

    // Orbit while paused: the view changes.
    const before = await canvasShot(page, 'studio-paused');
    const box = (await page.getByTestId('render-canvas').boundingBox())!;
    const rendersBefore = await renders(page);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 10, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) >= n + 2, rendersBefore, {
      timeout: 120_000,
    });
    await page.waitForTimeout(500);
    const orbited = await canvasShot(page, 'studio-orbited');
    assert.ok(difference(before, orbited) > 2, 'the view changes when the camera moves');

    // Still, the view refines up to the canvas's full backing size (its CSS size times the
    // device-pixel ratio): a zoom's interaction frame is small, the last fills the canvas and is sharper.
    // (In a lower window, 326 rather than 544 pixels square: SwiftShader takes a minute at most;
    // the resize itself is answered by a new frame at the new size.)
    await page.setViewportSize({ width: 1280, height: 480 });
    await page.waitForFunction(
      () => {
        const c = document.querySelector('[data-testid="render-canvas"]') as HTMLCanvasElement | null;
        return c !== null && c.width === Math.round(c.clientWidth * devicePixelRatio) && c.dataset.frameSize !== undefined;
      },
      null,
      { timeout: 120_000 },
    );
    const frames = await framesUntilFull(
      page,
      'render-canvas',
      async () => {
        await page.getByTestId('render-canvas').hover();
        await page.mouse.wheel(0, -120);
      },
      240_000,
    );
    console.log(`# viewport frames after a zoom: ${frames.map((f) => `${f.size} (sharpness ${f.sharpness.toFixed(2)})`).join(', ')}`);
    const shown = await page.getByTestId('render-canvas').evaluate((c: HTMLCanvasElement) => ({
      backing: `${c.width}x${c.height}`,
      displayed: `${Math.round(c.clientWidth * devicePixelRatio)}x${Math.round(c.clientHeight * devicePixelRatio)}`,
    }));
    const last = frames.at(-1)!;
    assert.equal(last.size, shown.backing, 'the last frame fills the canvas');
    assert.equal(shown.backing, shown.displayed, 'the canvas is backed at its displayed size');
    const side = (f: Frame) => Number(f.size.split('x')[0]);
    const smallest = frames.reduce((a, f) => (side(f) < side(a) ? f : a));
    assert.ok(side(smallest) < side(last), `an interaction frame smaller than the full one (${smallest.size} < ${last.size})`);
    assert.ok(last.sharpness > 1.2 * smallest.sharpness, `the full frame is sharper (${last.sharpness.toFixed(2)} vs ${smallest.sharpness.toFixed(2)})`);
    await page.setViewportSize({ width: 1280, height: 800 });

    // Depth and opacity views, then a training camera beside its photo with the error heatmap.
    for (const mode of ['depth', 'accumulation'] as const) {
      const n = await renders(page);
      await page.getByTestId(`view-${mode}`).click();
      await page.waitForFunction((k) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) > k, n, {
        timeout: 60_000,
      });
      await page.waitForTimeout(300);
      const shot = await canvasShot(page, `studio-${mode}`);
      assert.ok(difference(orbited, shot) > 2, `the ${mode} view differs from the colour view`);
    }
    await page.getByTestId('view-color').click();
    await page.getByTestId('snap-camera').selectOption('0');
    await page.getByTestId('compare-psnr').waitFor({ timeout: 60_000 });
    assert.match((await page.getByTestId('compare-psnr').textContent())!, /\d+\.\d\d dB/);
    assert.ok(pixelVariance(PNG.sync.read(await page.getByTestId('compare-truth').screenshot())) > 10, 'the photo is shown');
    await page.getByTestId('viewport').screenshot({ path: `${artifacts}/studio-compare.png` });
    await page.getByTestId('snap-camera').selectOption('');

    // Fly (still paused): W flies the eye towards the scene and the view changes; S flies back.
    const canvas = page.getByTestId('render-canvas');
    await page.waitForFunction(() => document.querySelector('[data-testid="render-canvas"]')?.hasAttribute('data-eye'));
    const eyeDistance = async () => Math.hypot(...((await canvas.getAttribute('data-eye')) ?? '').split(',').map(Number));
    const fly = async (key: string, shot: string) => {
      const n = await renders(page);
      for (let i = 0; i < 8; i++) await page.keyboard.press(key);
      await page.waitForFunction((k) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) >= k + 2, n, {
        timeout: 120_000,
      });
      await page.waitForTimeout(2000); // the full-resolution render once the keys stop
      return canvasShot(page, shot);
    };
    const d0 = await eyeDistance();
    await page.getByTestId('nav-fly').click();
    await canvas.focus();
    const flown = await fly('w', 'studio-flown');
    const d1 = await eyeDistance();
    assert.ok(d1 < d0 - 1, `the eye flew towards the scene (${d0.toFixed(2)} -> ${d1.toFixed(2)})`);
    assert.ok(difference(orbited, flown) > 2, 'the view changes as the camera flies');
    await fly('s', 'studio-flown-back');
    assert.ok(Math.abs((await eyeDistance()) - d0) < 0.01, 'S flies back to where W started');
    await page.getByTestId('nav-orbit').click();

    const rendersAtResume = await renders(page);
    await page.getByTestId('resume').click();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= n + 20, pausedAt, { timeout: 240_000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) >= n + 2, rendersAtResume, {
      timeout: 120_000,
    });
    const later = await canvasShot(page, 'studio-later');
    assert.ok(difference(orbited, later) > 0.5, 'the view changes as training goes on');
    await page.screenshot({ path: `${artifacts}/studio.png` });
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
