// Out of GPU memory in the studio: a run the GPU cannot hold is refused in the studio's words,
// mid-training as at the start, and the page, the trained field and the saved run stay usable.
// The refusals are the driver's own: SwiftShader cannot allocate a buffer of its whole
// maxBufferSize (1 GiB), so the page's createBuffer makes one chosen allocation ask for that much
// while `window.starve` names it (harness.ts: starveOnLoad; unit tests in
// test/gpu/out-of-memory.test.ts do the same).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { artifacts, canvasShot, openDemo, pixelVariance, renders, starve, starveOnLoad, WEBGPU_FLAGS, withStudio } from './harness.ts';

const iteration = async (page: Page) => Number(await page.getByTestId('iteration').textContent());

test('out of memory: refused with what to lower, at the start and at an upsample; the field, the saved run and the page stay usable', {
  timeout: 600_000,
}, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await starveOnLoad(page);
    await openDemo(page, url);
    const alert = page.getByRole('alert');

    // At the start: the trainer's ray batch cannot be made.
    await starve(page, 'batch.rays');
    await page.getByTestId('train').click();
    await alert.waitFor({ timeout: 120_000 });
    const atStart = (await alert.textContent())!;
    assert.match(
      atStart,
      /^The GPU ran out of memory making the trainer \(512 rays per batch\) \([\d.]+ [KMG]?i?B asked for, .* already in use\): choose a smaller preset \(fewer rays per batch\), or train on fewer views \(Training views\)\.$/,
    );

    // Mid-training: the first upsample (iteration 100 of the preview, 24³ -> 33³) cannot be made.
    await starve(page, 'field at ');
    await page.getByTestId('checkpoint-every').fill('20');
    await page.getByTestId('train').click();
    await alert.filter({ hasText: 'field at' }).waitFor({ timeout: 400_000 });
    const atUpsample = (await alert.textContent())!;
    assert.match(
      atUpsample,
      /^The GPU ran out of memory making the field at \d+x\d+x\d+'s parameters .*: choose a smaller preset \(a smaller final grid\), or .*\.$/,
    );
    const stoppedAt = await iteration(page);
    assert.ok(stoppedAt >= 99 && stoppedAt <= 100, `stopped at the upsample (iteration ${stoppedAt})`);
    await starve(page, null);
    await page.screenshot({ path: `${artifacts}/out-of-memory.png` });

    // The field trained so far still renders: orbit, and the viewport draws it again.
    const rendersBefore = await renders(page);
    const box = (await page.getByTestId('render-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) > n, rendersBefore, {
      timeout: 120_000,
    });
    assert.ok(pixelVariance(await canvasShot(page, 'after-out-of-memory')) > 0, 'the field renders after the refusal');

    // The run saved before the failure is offered, and training goes on from it once memory allows.
    const saved = Number(await page.getByTestId('checkpoint-status').getAttribute('data-iter'));
    assert.ok(saved > 0 && saved < 100, `a checkpoint before the upsample (iteration ${saved})`);
    const resume = page.getByTestId('resume-saved');
    await resume.waitFor({ timeout: 30_000 });
    await resume.click();
    await page.waitForFunction((k) => Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= k, 102, { timeout: 300_000 });
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    await writeFile(`${artifacts}/out-of-memory.json`, `${JSON.stringify({ atStart, atUpsample, stoppedAt, savedAt: saved }, null, 2)}\n`);
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
