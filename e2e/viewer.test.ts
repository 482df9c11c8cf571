// The standalone viewer page: streams a scene file from ?scene=URL, renders it, slims it with its
// rank slider, and names the problem when a file is damaged or the GPU cannot hold a render.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { quantise8 } from '../src/compress/codecs.ts';
import { type CompactModel, FATE, rankBlocks } from '../src/compress/quantise.ts';
import { fieldSegments } from '../src/field/layout.ts';
import { MODEL_PRESETS } from '../src/field/presets.ts';
import type { FieldSettings } from '../src/field/settings.ts';
import { exportCompactScene, exportScene } from '../src/formats/scene-file/writer.ts';
import { randomNormal, xorshift } from '../src/gpu/random.ts';
import { artifacts, framesUntilFull, pixelVariance, STATUS_TIMEOUT_MS, starve, starveOnLoad, WEBGPU_FLAGS, withStudio } from './harness.ts';

test('viewer: streams a scene, renders it, slims it; a damaged file and a render the GPU cannot hold get clear messages', { timeout: 300_000 }, async () => {
  await mkdir(artifacts, { recursive: true });
  // A small SlimmeRF-shaped field with random factors: opaque enough to show colour.
  const settings: FieldSettings = {
    ...MODEL_PRESETS.slimmerf8,
    densityComps: [3, 3, 3],
    appComps: [9, 9, 9],
    densityShift: 0,
    shading: { mode: 'MLP_Fea', appDim: 6, viewPe: 1, feaPe: 1, featureC: 8 },
  };
  const grid: [number, number, number] = [12, 12, 12];
  const box = { lo: [-1.5, -1.5, -1.5] as [number, number, number], hi: [1.5, 1.5, 1.5] as [number, number, number] };
  const values = new Map(fieldSegments(settings, box, grid).map((s, i) => [s.name, randomNormal(s.count, 0.4, i + 1)] as const));
  const bytes = exportScene(
    { settings, box, grid, values, mask: null },
    { precision: 'fp16', info: { orbitRadius: 4, whiteBackground: true, nearFar: [2, 6] } },
  );
  await writeFile(`${artifacts}/viewer.slimscene`, bytes);
  // The same field as a compact file (a compressed model built here on the host: texel fates at
  // random, each coded texel its codeword of 8 taken from the plane, the kept ones in 8 bits).
  await writeFile(
    `${artifacts}/viewer-compact.slimscene`,
    exportCompactScene(compactOf(settings, box, grid, values), { orbitRadius: 4, whiteBackground: true, nearFar: [2, 6] }),
  );
  const damaged = bytes.slice();
  damaged[bytes.length - 10]! ^= 0x40;
  await writeFile(`${artifacts}/viewer-damaged.slimscene`, damaged);

  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    // A smaller window, so the full-resolution frame (this random field is dense everywhere) takes
    // SwiftShader seconds rather than minutes.
    await page.setViewportSize({ width: 640, height: 420 });
    await page.goto(`${url}viewer.html?scene=/test-artifacts/e2e/viewer.slimscene`);
    await page.getByTestId('viewer-status').filter({ hasText: 'rank groups 3/3' }).filter({ hasText: 'drag to orbit' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="viewer-canvas"]')?.getAttribute('data-renders')) >= 1, null, {
      timeout: 60_000,
    });
    // Still, the viewer refines to the canvas's full backing size; a zoom starts small again.
    const frames = await framesUntilFull(
      page,
      'viewer-canvas',
      () =>
        page
          .getByTestId('viewer-canvas')
          .hover()
          .then(() => page.mouse.wheel(0, -120)),
      240_000,
    );
    console.log(`# viewer frames after a zoom: ${frames.map((f) => f.size).join(', ')}`);
    const backing = await page.getByTestId('viewer-canvas').evaluate((c: HTMLCanvasElement) => `${c.width}x${c.height}`);
    assert.equal(frames.at(-1)!.size, backing, 'the last frame fills the canvas');
    assert.ok(
      frames.some((f) => f.size !== backing),
      'the zoom answered with a smaller interaction frame first',
    );
    const full = await page.getByTestId('viewer-canvas').screenshot();
    await writeFile(`${artifacts}/viewer.png`, full);
    const { PNG } = await import('pngjs');
    assert.ok(pixelVariance(PNG.sync.read(full)) > 1, 'the viewer shows the scene');

    const before = Number(await page.getByTestId('viewer-canvas').getAttribute('data-renders'));
    await page.getByTestId('viewer-rank').fill('1');
    await page.getByTestId('viewer-rank-label').filter({ hasText: '1 / 3' }).waitFor({ timeout: 30_000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="viewer-canvas"]')?.getAttribute('data-renders')) > n, before, {
      timeout: 60_000,
    });
    await writeFile(`${artifacts}/viewer-rank1.png`, await page.getByTestId('viewer-canvas').screenshot());

    // The compact file streams and renders alike.
    await page.goto(`${url}viewer.html?scene=/test-artifacts/e2e/viewer-compact.slimscene`);
    await page
      .getByTestId('viewer-status')
      .filter({ hasText: 'compact, rank groups 3/3' })
      .filter({ hasText: 'drag to orbit' })
      .waitFor({ timeout: STATUS_TIMEOUT_MS });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="viewer-canvas"]')?.getAttribute('data-renders')) >= 1, null, {
      timeout: 60_000,
    });
    const compactShot = await page.getByTestId('viewer-canvas').screenshot();
    await writeFile(`${artifacts}/viewer-compact.png`, compactShot);
    assert.ok(pixelVariance(PNG.sync.read(compactShot)) > 1, 'the viewer shows the compact scene');

    await page.goto(`${url}viewer.html?scene=/test-artifacts/e2e/viewer-damaged.slimscene`);
    await page.locator('[data-testid="viewer-status"].error').waitFor({ timeout: STATUS_TIMEOUT_MS });
    assert.match((await page.getByTestId('viewer-status').textContent())!, /viewer-damaged\.slimscene: rank group 3: checksum mismatch/);

    // A GPU that cannot hold a render's outputs: the driver's own refusal of the gather buffer
    // (starved from the page's load, before its first render) is said above the canvas; once
    // memory allows, the next frame renders and clears it.
    await starveOnLoad(page, 'render.gather');
    await page.goto(`${url}viewer.html?scene=/test-artifacts/e2e/viewer.slimscene`);
    await page.getByTestId('viewer-render-error').waitFor({ timeout: STATUS_TIMEOUT_MS });
    assert.match(
      (await page.getByTestId('viewer-render-error').textContent())!,
      /^The view could not render: The GPU ran out of memory gathering a render's outputs \([\d.]+ [KMG]?i?B asked for, .* already in use\)$/,
    );
    assert.ok(await page.getByTestId('viewer-canvas').getAttribute('data-render-error'), 'the canvas says its render failed');
    await page.screenshot({ path: `${artifacts}/viewer-render-error.png` });
    await starve(page, null);
    await page.getByTestId('viewer-canvas').hover();
    await page.mouse.wheel(0, -120);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="viewer-canvas"]')?.getAttribute('data-renders')) >= 1, null, {
      timeout: 60_000,
    });
    await page.getByTestId('viewer-render-error').waitFor({ state: 'hidden', timeout: 30_000 });
    assert.equal(await page.getByTestId('viewer-canvas').getAttribute('data-render-error'), null, 'a completed frame clears the failure');
    await page.screenshot({ path: `${artifacts}/viewer-recovered.png` });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});

/** A compressed model of these values: fates at random (a fifth pruned, a fifth kept), 8 codewords per plane and block taken from its texels. */
function compactOf(
  settings: FieldSettings,
  box: { lo: [number, number, number]; hi: [number, number, number] },
  grid: [number, number, number],
  values: Map<string, Float32Array>,
): CompactModel {
  const rnd = xorshift(3);
  const blocks = rankBlocks(settings);
  const segs = fieldSegments(settings, box, grid);
  const planes = segs
    .filter((s) => s.plane)
    .map((s) => {
      const k = s.components;
      const texels = s.count / k;
      const v = values.get(s.name)!;
      const fates = Uint8Array.from({ length: texels }, () => {
        const r = rnd();
        return r < 0.2 ? FATE.pruned : r < 0.4 ? FATE.kept : FATE.coded;
      });
      const coded = [...fates.keys()].filter((t) => fates[t] === FATE.coded);
      const kept = [...fates.keys()].filter((t) => fates[t] === FATE.kept);
      return {
        segment: s.name,
        texels,
        components: k,
        fates,
        blocks: blocks.map(([first, end]) => {
          const step = s.name.startsWith('density.') ? 1 : 3;
          const [lo, hi] = [Math.min(k, first * step), Math.min(k, end * step)];
          const w = hi - lo;
          const codewords = Float32Array.from({ length: 8 * w }, (_, i) => v[coded[Math.floor(i / w)]! * k + lo + (i % w)]!);
          const indices = Uint32Array.from(coded, () => Math.floor(rnd() * 8));
          return { lo, hi, codewords, indices, kept: quantise8(kept.length, w, (r, c) => v[kept[r]! * k + lo + c]!) };
        }),
      };
    });
  const rest = new Map(segs.filter((s) => !s.plane).map((s) => [s.name, values.get(s.name)!] as const));
  return { settings, box, grid, rankBlocks: blocks, planes, rest, mask: null };
}
