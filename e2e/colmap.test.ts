// A COLMAP capture in the studio: a folder with sparse/0 (binary) and images/, as COLMAP writes
// it, opened with the folder picker and as a dropped .zip of the text model: the Dataset view shows
// the cameras, the sparse points and the box; every 8th view is held out, so training shows a
// held-out PSNR, and with "Refine camera poses" the refined cameras are drawn and downloadable;
// unticking the hold-out trains on every view. The .zip's photos show the scene's
// surroundings (ground and sky all round): it opens as unbounded and trains with the scene
// contracted, unless the user asks for the box only.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import { proceduralCapture } from '../test/fixtures/colmap.ts';
import { artifacts, captureFolder, openFolder, WEBGPU_FLAGS, withStudio } from './harness.ts';

test('a COLMAP folder and a .zip: cameras, points and box in the Dataset view; training with held-out PSNR', { timeout: 420_000 }, async () => {
  const folder = captureFolder('colmap-capture', proceduralCapture(24, 32, 'bin'));
  const zip = join(folder, '..', 'colmap-text.zip');
  writeFileSync(zip, zipSync(Object.fromEntries(proceduralCapture(16, 32, 'txt', 'environment'))));

  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    // The folder: 24 views, every 8th (0, 8, 16) held out.
    await openFolder(page, url, folder);
    const name = page.getByTestId('dataset-name');
    await name.filter({ hasText: 'colmap-capture' }).waitFor({ timeout: 60_000 });
    // The procedural renders are transparent around the object: their alpha is the capture's mask.
    assert.match(await name.innerText(), /colmap-capture \(21 views, 3 test, 32×32, masked\)/);
    const scene = page.getByTestId('dataset-3d');
    await scene.waitFor({ timeout: 60_000 });
    assert.equal(await scene.getAttribute('data-frustums'), '24');
    assert.equal(await scene.getAttribute('data-points'), '400');
    const box = (await scene.getAttribute('data-box'))!.split(',').map(Number);
    assert.ok(Math.max(...box.map(Math.abs)) < 1.6, `the box from the points spans at most 1.5, padded (${box})`);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `${artifacts}/colmap-dataset.png` });

    // Training measures PSNR on the held-out views; the cameras' poses are refined with the field.
    await page.getByTestId('refine-poses').check();
    await page.getByTestId('train').click();
    await page.getByTestId('test-psnr').waitFor({ timeout: 240_000 });
    const heldOut = Number(await page.getByTestId('test-psnr').textContent());
    assert.ok(heldOut > 5 && heldOut < 60, `held-out PSNR ${heldOut} dB`);
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${artifacts}/colmap-trained.png` });
    // The Dataset view draws each training camera's refined frustum beside its given one, and the
    // refined cameras download as a capture (transforms.json, COLMAP text model, images).
    await page.getByTestId('tab-dataset').click();
    const refined = page.getByTestId('refined-poses');
    await refined.waitFor({ timeout: 30_000 });
    assert.equal(await refined.getAttribute('data-cameras'), '21');
    const moved = Number(await refined.getAttribute('data-degrees'));
    assert.ok(moved > 0 && moved < 5, `the refined cameras turned a little from the given ones (${moved}°)`);
    assert.equal(await page.getByTestId('dataset-3d').getAttribute('data-refined'), '21');
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `${artifacts}/colmap-refined-poses.png` });
    await page.getByTestId('tab-render').click();
    const [poses] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-poses').click()]);
    assert.match(poses.suggestedFilename(), /refined-poses\.zip$/);
    const files = unzipSync(new Uint8Array(readFileSync((await poses.path())!)));
    assert.ok(files['transforms.json'] && files['sparse/0/images.txt'] && files['images/view_023.png'], Object.keys(files).join(', '));
    assert.equal(JSON.parse(new TextDecoder().decode(files['transforms.json'])).frames.length, 21);

    // The text model as a .zip, training on every view.
    await page.getByTestId('hold-out').uncheck();
    await page.getByTestId('open-zip').setInputFiles(zip);
    await name.filter({ hasText: 'colmap-text.zip' }).waitFor({ timeout: 60_000 });
    assert.match(await name.innerText(), /colmap-text\.zip \(16 views, 32×32, unbounded\)/);
    assert.equal(await page.getByTestId('dataset-3d').getAttribute('data-points'), '400');
    // Its surroundings are modelled by default; the user can keep the box only.
    const space = page.getByTestId('scene-space');
    await space.filter({ hasText: 'Surroundings modelled' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('contract').selectOption('off');
    await space.filter({ hasText: 'Box only' }).waitFor({ timeout: 30_000 });
    // NDC is offered for forward-facing captures; this one turns all round, so auto contracts it.
    await page.getByTestId('contract').selectOption('ndc');
    await space.filter({ hasText: 'Surroundings modelled in NDC' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('contract').selectOption('auto');
    await space.filter({ hasText: 'all of space is contracted' }).waitFor({ timeout: 30_000 });
    // Training the contracted field: the loss falls (the steps' PSNR is charted) and the viewport draws it.
    await page.getByTestId('train').click();
    await page.getByTestId('stop').waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="iteration"]')?.textContent ?? 0) >= 20, null, { timeout: 240_000 });
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${artifacts}/colmap-unbounded-trained.png` });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
