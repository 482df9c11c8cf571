// The dataset view: thumbnails, camera frustums and the scene box in 3D; the box edited before
// training reaches the run and is locked while it trains.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifacts, openDemo, WEBGPU_FLAGS, withStudio } from './harness.ts';

test('dataset view: photos, frustums and an editable box', { timeout: 420_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await openDemo(page, url);
    // On a software adapter the demo's images are 48 pixels a side (256 on a GPU).
    assert.match(await page.getByTestId('dataset-name').innerText(), /built-in demo scene \(40 views, 48×48\)/);
    // The dataset view comes first: 40 training and 8 test cameras, a thumbnail per photo.
    const scene = page.getByTestId('dataset-3d');
    await scene.waitFor({ timeout: 60_000 });
    assert.equal(await scene.getAttribute('data-frustums'), '48');
    assert.equal(await page.getByTestId('thumbnail').count(), 40);
    await page.getByTestId('thumbnail').nth(3).click();
    await page.getByTestId('selected-photo').filter({ hasText: 'train/r_3' }).waitFor();
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `${artifacts}/dataset-view.png` });

    // The box: an impossible edit is named and not applied; a valid one is drawn and sizes the grid.
    const gridOf = async () =>
      /at (\d+)×(\d+)×(\d+)/
        .exec((await page.getByTestId('memory-estimate').textContent()) ?? '')!
        .slice(1)
        .map(Number);
    const cubic = await gridOf();
    assert.ok(cubic[0] === cubic[2], `the demo box is a cube (${cubic.join('×')})`);
    await page.getByTestId('box-min-x').fill('2');
    await page.getByTestId('box-problem').filter({ hasText: 'x max (1.5) must be above its min (2)' }).waitFor();
    assert.equal(await scene.getAttribute('data-box'), '-1.5,-1.5,-1.5,1.5,1.5,1.5');
    await page.getByTestId('box-min-x').fill('-1.5');
    await page.getByTestId('box-max-z').fill('0.5');
    await page.waitForFunction(() => document.querySelector('[data-testid="dataset-3d"]')?.getAttribute('data-box') === '-1.5,-1.5,-1.5,1.5,1.5,0.5');
    assert.equal(await page.getByTestId('box-problem').count(), 0);
    const flat = await gridOf();
    assert.ok(flat[2]! < flat[0]!, `a flatter box gives a flatter grid (${flat.join('×')})`);
    await page.screenshot({ path: `${artifacts}/dataset-box.png` });

    // Training switches to the render and locks the box.
    await page.getByTestId('train').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= 3, null, { timeout: 240_000 });
    await page.getByTestId('tab-dataset').click();
    assert.ok(await page.getByTestId('box-max-z').isDisabled(), 'the box is fixed while training runs');
    await page.getByTestId('tab-render').click();
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    assert.deepEqual(errors, []);
  });
});
