// SlimmeRF in the studio: train the demo scene with rank incrementation, stop, and drag the rank
// slider: the viewport re-renders the slimmed model and the readouts (parameters, file size,
// held-out PSNR) follow; the quality-against-size curve is computed after training. Then export
// the slimmed model as a scene file and reopen the download: the same image.

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
// @ts-expect-error: the validator ships no types
import validator from 'gltf-validator';
import type { Page } from 'playwright-core';
import { artifacts, canvasPixels, difference, fullFrame, openDemo, renders, WEBGPU_FLAGS, withStudio } from './harness.ts';

/** Fails with the panel's error message when it shows one. */
async function assertNoError(page: Page, selector: string) {
  const error = page.locator(selector);
  assert.equal(await error.count(), 0, (await error.textContent({ timeout: 1000 }).catch(() => '')) ?? '');
}

/** Extracts the surface as `kind` in the Export panel and saves it; the counts and sizes shown. */
async function extractAndSave(page: Page, kind: string, simplify?: string) {
  await page.getByTestId('geometry-kind').selectOption(kind);
  if (simplify) await page.getByTestId('geometry-simplify').selectOption(simplify);
  await page.getByTestId('geometry-extract').click();
  const result = page.locator(`[data-testid="geometry-result"][data-kind="${kind}"], .geometry-export .error`);
  await result.first().waitFor({ timeout: 300_000 });
  await assertNoError(page, '.geometry-export .error');
  const bytes = Number(await result.getAttribute('data-bytes'));
  const vertices = Number(await result.getAttribute('data-vertices'));
  assert.ok(vertices > 0, `${kind}: a surface was found`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('geometry-save').click()]);
  const file = `${artifacts}/${download.suggestedFilename()}`;
  await download.saveAs(file);
  assert.equal(statSync(file).size, bytes, `${kind}: the size shown before saving is the size of the file`);
  return { file, name: download.suggestedFilename(), bytes, vertices };
}

/**
 * Compacts the model in the Export panel and saves it: per rank block, the bytes a viewer needs
 * (under half the fp16 file's) and the held-out PSNR, within a decibel of the rank readout's
 * (`readouts`: rank to PSNR, measured on the same held-out views).
 */
async function compactAndSave(page: Page, readouts: Map<number, number>) {
  await page.getByTestId('compact-run').click();
  await page.getByTestId('compact-progress').waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="compact-table"], .compact-export .error').first().waitFor({ timeout: 300_000 });
  await assertNoError(page, '.compact-export .error');
  const rows = await page
    .getByTestId('compact-table')
    .locator('tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => ({
        rank: Number(tr.getAttribute('data-rank')),
        bytes: Number(tr.getAttribute('data-bytes')),
        fp16: Number(tr.getAttribute('data-fp16-bytes')),
        psnr: Number(tr.getAttribute('data-psnr')),
      })),
    );
  assert.ok(rows.length >= 1, 'a row per rank block');
  for (const r of rows) {
    assert.ok(r.bytes < r.fp16 / 2, `rank ${r.rank}: compact ${r.bytes} bytes against fp16 ${r.fp16}`);
    const readout = readouts.get(r.rank);
    if (readout !== undefined) assert.ok(Math.abs(r.psnr - readout) < 1, `rank ${r.rank}: the compact file ${r.psnr} dB, the model ${readout} dB`);
  }
  assert.ok(
    rows.some((r) => readouts.has(r.rank)),
    'a row to compare',
  );
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('compact-save').click()]);
  assert.match(download.suggestedFilename(), /-compact\.slimscene$/);
  const file = `${artifacts}/${download.suggestedFilename()}`;
  await download.saveAs(file);
  assert.equal(statSync(file).size, rows.at(-1)!.bytes, 'the size shown before saving is the size of the file');
  await page.screenshot({ path: `${artifacts}/compact.png` });
  console.log(`compact: ${rows.map((r) => `rank ${r.rank} ${r.bytes} bytes (fp16 ${r.fp16}) ${r.psnr.toFixed(2)} dB`).join('; ')}`);
  return { file, rank: rows.at(-1)!.rank };
}

test('rank slider: the viewport and the readouts follow the rank', { timeout: 900_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    // A lower window: the viewport's full-resolution frame (326 rather than 544 pixels square), which
    // the pictures below are compared at, takes SwiftShader under a minute.
    await page.setViewportSize({ width: 1280, height: 480 });
    await openDemo(page, url);
    await page.getByTestId('model').selectOption('slimmerf');
    // A low TRaIn threshold (the paper's sparse-view value) grows the rank within a few dozen
    // iterations; at 0.4 growth waits for a large loss jump, which may take hundreds.
    await page.getByTestId('upsilon').fill('0.1');
    await page.getByTestId('train').click();
    await page.getByTestId('rank-slider').waitFor({ timeout: 60_000 });
    // TRaIn grows the rank while the loss moves fast, in the first few dozen iterations.
    // Past the bootstrap (an almost empty field renders the same at every rank) with 2+ groups.
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid="iteration"]')?.textContent) >= 110 &&
        Number(document.querySelector('[data-testid="rank-value"]')?.textContent?.split('/')[0]) >= 2,
      null,
      { timeout: 420_000 },
    );
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    // The curve over every trained rank, then the readout at the top rank with its PSNR.
    const trained = Number((await page.getByTestId('rank-value').textContent())!.split('/')[0]);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="rank-curve"]')?.getAttribute('data-points')) >= n, trained, {
      timeout: 180_000,
    });
    await page.getByTestId('rank-curve-mark').waitFor({ timeout: 30_000 });
    await page.getByTestId('rank-psnr').filter({ hasText: 'dB' }).waitFor({ timeout: 60_000 });
    const topParams = await page.getByTestId('rank-params').textContent();
    const topBytes = await page.getByTestId('rank-bytes').textContent();
    const topPsnr = await page.getByTestId('rank-psnr').textContent();
    await fullFrame(page);
    const top = await canvasPixels(page, 'slider-top');

    // The surface at the top rank as a glb mesh (half its triangles kept) and as splats: counts and size shown before saving, the
    // saved glb valid for the Khronos validator, the splat PLY the splat count long.
    await page.getByTestId('geometry-resolution').selectOption('64');
    const glb = await extractAndSave(page, 'mesh-glb', '0.5');
    assert.match(glb.name, new RegExp(`rank${trained}\\.glb$`));
    const report = await validator.validateBytes(new Uint8Array(readFileSync(glb.file)));
    assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.slice(0, 5)));
    assert.equal(report.info.totalVertexCount, glb.vertices);
    const splats = await extractAndSave(page, 'splats');
    const header = readFileSync(splats.file).subarray(0, 1000).toString('latin1');
    assert.match(header, new RegExp(`element vertex ${splats.vertices}\n`));
    console.log(`rank-${trained} surface: ${glb.vertices} mesh vertices (${glb.bytes} bytes glb), ${splats.vertices} splats (${splats.bytes} bytes)`);

    // A camera path from two viewport views (kept with the dataset in local storage), then the
    // fitted orbit rendered to a one-second video; the browser's own <video> element plays the
    // file back at the right size.
    await page.getByTestId('path-add').click();
    const canvas = page.getByTestId('render-canvas');
    const boxOf = (await canvas.boundingBox())!;
    await page.mouse.move(boxOf.x + boxOf.width / 2, boxOf.y + boxOf.height / 2);
    await page.mouse.down();
    await page.mouse.move(boxOf.x + boxOf.width / 2 + 60, boxOf.y + boxOf.height / 2, { steps: 4 });
    await page.mouse.up();
    await page.getByTestId('path-add').click();
    assert.equal(await page.getByTestId('keyframes').getAttribute('data-count'), '2');
    const kept = await page.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith('slimfield-camera-path-'))
        .map((k) => JSON.parse(localStorage.getItem(k)!).keyframes.length),
    );
    assert.deepEqual(kept, [2], 'the path is kept with the dataset');
    const pathDownload = await Promise.all([page.waitForEvent('download'), page.getByTestId('path-save').click()]);
    const pathFile = `${artifacts}/${pathDownload[0].suggestedFilename()}`;
    await pathDownload[0].saveAs(pathFile);
    assert.equal(JSON.parse(readFileSync(pathFile, 'utf8')).keyframes.length, 2);
    await page.getByTestId('path-orbit').click();
    await page.getByTestId('path-seconds').fill('1');
    await page.getByTestId('video-size').selectOption({ label: '160×90' });
    await page.getByTestId('video-fps').selectOption('24');
    await page.getByTestId('video-render').click();
    await page.locator('[data-testid="video-result"], .video-panel .error').first().waitFor({ timeout: 600_000 });
    await assertNoError(page, '.video-panel .error');
    const videoBytes = Number(await page.getByTestId('video-result').getAttribute('data-bytes'));
    const [videoDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('video-save').click()]);
    const videoFile = `${artifacts}/${videoDownload.suggestedFilename()}`;
    await videoDownload.saveAs(videoFile);
    assert.equal(statSync(videoFile).size, videoBytes);
    const played = await page.evaluate(
      async ({ b64, mime }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const v = document.createElement('video');
        v.muted = true;
        v.src = URL.createObjectURL(new Blob([bytes], { type: mime }));
        await new Promise<void>((ok, fail) => {
          v.onloadeddata = () => ok();
          v.onerror = () => fail(new Error(`the browser cannot play the video: ${v.error?.message ?? v.error?.code}`));
        });
        return { width: v.videoWidth, height: v.videoHeight, duration: v.duration };
      },
      { b64: readFileSync(videoFile).toString('base64'), mime: videoFile.endsWith('.mp4') ? 'video/mp4' : 'video/webm' },
    );
    assert.deepEqual([played.width, played.height], [160, 90]);
    assert.ok(Math.abs(played.duration - 1) < 0.1, `duration ${played.duration}`);
    console.log(`video: ${videoDownload.suggestedFilename()}, ${videoBytes} bytes, ${await page.getByTestId('video-result').textContent()}`);
    // Back to the starting view, where the top rank's picture was taken, for the slider's checks;
    // its renders done before the slider moves (a render in flight would count as the slider's).
    const beforeReset = await renders(page);
    await page.getByTestId('reset-view').click();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) > n, beforeReset, {
      timeout: 60_000,
    });
    let settled = -1;
    while (settled !== (await renders(page))) {
      settled = await renders(page);
      await page.waitForTimeout(1500);
    }

    const before = await renders(page);
    await page.getByTestId('rank-slider').fill('1');
    await page.getByTestId('rank-value').filter({ hasText: /^1 \// }).waitFor({ timeout: 5_000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) > n, before, {
      timeout: 60_000,
    });
    await page.getByTestId('rank-psnr').filter({ hasText: 'dB' }).waitFor({ timeout: 60_000 });
    await fullFrame(page);
    const slim = await canvasPixels(page, 'slider-rank1');
    const params = await page.getByTestId('rank-params').textContent();
    const slimPsnr = await page.getByTestId('rank-psnr').textContent();
    const bytes = await page.getByTestId('rank-bytes').textContent();
    assert.notEqual(params, topParams, 'parameter count follows the rank');
    assert.notEqual(bytes, topBytes, 'file size follows the rank');
    assert.ok(Number(params!.replace(/\D/g, '')) < Number(topParams!.replace(/\D/g, '')), `${params} < ${topParams}`);
    assert.ok(difference(top, slim) > 0.5, `the viewport shows the slimmed model (difference ${difference(top, slim).toFixed(2)})`);
    await page.screenshot({ path: `${artifacts}/slider.png` });

    // A compact file of the trained model (its photos weigh the texels), measured at each rank block before saving.
    const compact = await compactAndSave(
      page,
      new Map([
        [1, Number.parseFloat(slimPsnr!)],
        [trained, Number.parseFloat(topPsnr!)],
      ]),
    );
    // The rank readout now shows the compact file's bytes for this rank beside the fp16 size.
    const compactAtRank = await page.getByTestId('rank-compact-bytes').textContent({ timeout: 5_000 });
    assert.ok(compactAtRank && compactAtRank !== bytes, `compact ${compactAtRank} beside fp16 ${bytes}`);

    // Export the rank-1 model as an fp32 scene file, reopen the download: the same image.
    await page.getByTestId('export-precision').selectOption('fp32');
    const predicted = Number(await page.getByTestId('export-size').getAttribute('data-bytes'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-scene').click()]);
    assert.match(download.suggestedFilename(), /rank1-fp32\.slimscene$/);
    const file = `${artifacts}/${download.suggestedFilename()}`;
    await download.saveAs(file);
    assert.equal(statSync(file).size, predicted, 'the size shown before saving is the size of the file');
    const rendersBeforeOpen = await renders(page);
    await page.getByTestId('open-scene').setInputFiles(file);
    await page.getByTestId('scene-name').waitFor({ timeout: 60_000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) > n, rendersBeforeOpen, {
      timeout: 60_000,
    });
    await fullFrame(page);
    const reopened = await canvasPixels(page, 'scene-reopened');
    // The same pixels, up to the last bit of a colour here and there: the frame's bands (sized by
    // measured times) need not split the same way twice, and band sizes pick the GEMM's layout.
    const reopenDiff = difference(slim, reopened);
    assert.ok(reopenDiff < 0.01, `the reopened fp32 scene renders the same pixels (mean difference ${reopenDiff})`);
    assert.equal(await page.getByTestId('rank-value').textContent(), '1 / 1');
    assert.equal(Number(await page.getByTestId('export-size').getAttribute('data-bytes')), predicted, 'the reopened scene would export to the same file size');
    await page.screenshot({ path: `${artifacts}/scene-reopened-page.png` });

    // The compact file saved above, opened like any scene: it renders close to the top rank.
    const rendersBeforeCompact = await renders(page);
    await page.getByTestId('open-scene').setInputFiles(compact.file);
    await page.getByTestId('scene-name').filter({ hasText: 'compact' }).waitFor({ timeout: 60_000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders')) > n, rendersBeforeCompact, {
      timeout: 60_000,
    });
    await fullFrame(page);
    const fromCompact = await canvasPixels(page, 'compact-reopened');
    assert.equal(await page.getByTestId('rank-value').textContent(), `${compact.rank} / ${compact.rank}`);
    assert.ok(
      difference(top, fromCompact) < difference(top, slim),
      `the compact file renders closer to the trained model (${difference(top, fromCompact).toFixed(3)}) than rank 1 does (${difference(top, slim).toFixed(3)})`,
    );
    await page.screenshot({ path: `${artifacts}/compact-reopened-page.png` });

    console.log(`rank ${trained}: ${topParams} params, ${topBytes}, ${topPsnr}; rank 1: ${params} params, ${bytes}, ${slimPsnr}`);
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
