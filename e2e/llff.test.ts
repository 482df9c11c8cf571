// An LLFF capture (poses_bounds.npy, forward-facing) in the studio: it opens as an unbounded
// capture, trains in NDC by default (the Surroundings setting says so), the viewport starts from
// the capture's mean camera and draws the trained field, and held-out PSNR is measured.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proceduralLlff } from '../test/fixtures/llff.ts';
import { artifacts, captureFolder, openFolder, WEBGPU_FLAGS, withStudio } from './harness.ts';

test('an LLFF folder trains in NDC: the surroundings modelled in front of the mean camera, held-out PSNR measured', { timeout: 420_000 }, async () => {
  const folder = captureFolder('llff-capture', proceduralLlff(17, 32).files);
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await openFolder(page, url, folder);
    const name = page.getByTestId('dataset-name');
    await name.filter({ hasText: 'llff-capture' }).waitFor({ timeout: 60_000 });
    // 17 views, every 8th (0, 8, 16) held out.
    assert.match(await name.innerText(), /llff-capture \(14 views, 3 test, 32×32, unbounded\)/);
    // Every camera looks one way: NDC by default; the contraction and the box stay a choice away.
    const space = page.getByTestId('scene-space');
    await space.filter({ hasText: 'Surroundings modelled in NDC' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('contract').selectOption('on');
    await space.filter({ hasText: 'all of space is contracted' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('contract').selectOption('auto');
    await space.filter({ hasText: 'Surroundings modelled in NDC' }).waitFor({ timeout: 30_000 });

    await page.getByTestId('train').click();
    await page.getByTestId('test-psnr').waitFor({ timeout: 240_000 });
    const heldOut = Number(await page.getByTestId('test-psnr').textContent());
    assert.ok(heldOut > 5 && heldOut < 60, `held-out PSNR ${heldOut} dB`);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="render-canvas"]')?.getAttribute('data-renders') ?? 0) > 0, null, {
      timeout: 120_000,
    });
    await page.getByTestId('stop').click();
    await page.getByTestId('train').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${artifacts}/llff-ndc-trained.png` });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
