// Strivec in the studio: pick it, train the demo scene (a coarse pass places the local tensors
// first, with its progress shown), draw the tensors of each level over the render, export the
// model as a scene file and reopen it: the tensors come back where they were trained.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { artifacts, canvasShot, difference, openDemo, renders, WEBGPU_FLAGS, withStudio } from './harness.ts';

const waitForRender = (page: import('playwright-core').Page, after: number) =>
  page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) > n, after, { timeout: 60_000 });

test('Strivec: coarse pass, local tensors drawn per level, scene export and reopen', { timeout: 600_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await openDemo(page, url);
    await page.getByTestId('model').selectOption('strivec');
    await page.getByTestId('train').click();
    await page.getByTestId('loading').filter({ hasText: 'coarse pass' }).waitFor({ timeout: 120_000 });
    await page.getByTestId('tensor-toggles').waitFor({ timeout: 420_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= 20, null, { timeout: 300_000 });
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(500);
    const plain = await canvasShot(page, 'strivec-render');
    // Level labels carry the tensor counts the coarse pass placed.
    const labels = await Promise.all([1, 2, 3].map((l) => page.getByTestId(`tensors-level-${l}`).textContent()));
    const counts = labels.map((t) => Number(t!.split('·')[1]!.replace(/\D/g, '')));
    assert.ok(counts.every((n) => n > 0) && counts[2]! > counts[0]!, `tensors per level ${counts}`);
    // And each level's parameters (the lines of its tensors, density and appearance).
    const params = await Promise.all([1, 2, 3].map(async (l) => Number(await page.getByTestId(`tensors-level-${l}`).getAttribute('data-params'))));
    assert.ok(
      params.every((n) => n > 0),
      `parameters per level ${params}`,
    );

    await page.getByTestId('tensors-level-1').click();
    // A render already in flight when the toggle flips paints without cubes: wait for the cubes.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-boxes')) > 0, null, {
      timeout: 60_000,
    });
    const drawn = Number(await page.getByTestId('render-canvas').getAttribute('data-boxes'));
    assert.equal(drawn, counts[0], 'every level-1 tensor is drawn');
    const boxes = await canvasShot(page, 'strivec-level1-boxes');
    assert.ok(difference(plain, boxes) > 1, `the level-1 cubes are drawn over the render (difference ${difference(plain, boxes).toFixed(2)})`);
    await page.screenshot({ path: `${artifacts}/strivec.png` });

    // Export fp16, reopen the download: the same tensors (counts) and a render.
    await page.getByTestId('export-precision').selectOption('fp16');
    const predicted = Number(await page.getByTestId('export-size').getAttribute('data-bytes'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-scene').click()]);
    const file = `${artifacts}/${download.suggestedFilename()}`;
    await download.saveAs(file);
    assert.equal(statSync(file).size, predicted, 'the size shown before saving is the size of the file');
    const before = await renders(page);
    await page.getByTestId('open-scene').setInputFiles(file);
    await page.getByTestId('scene-name').waitFor({ timeout: 60_000 });
    await waitForRender(page, before);
    const reopened = await Promise.all([1, 2, 3].map((l) => page.getByTestId(`tensors-level-${l}`).textContent()));
    assert.deepEqual(reopened, labels, 'the reopened scene has the same local tensors');
    console.log(`Strivec tensors per level: ${counts.join(', ')}; parameters per level: ${params.join(', ')}; scene ${predicted} bytes`);
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
