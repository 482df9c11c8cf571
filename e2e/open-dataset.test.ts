// Opening your own photos in the studio: a Blender-layout dataset as a .zip and as a folder
// through the pickers, a folder dropped on the viewport, and a broken one whose error names the
// missing file.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { encodePng } from '../src/data/image-node.ts';
import { orbitCamera, renderProcedural } from '../src/data/procedural.ts';
import { dropPaths, STATUS_TIMEOUT_MS, WEBGPU_FLAGS, withStudio } from './harness.ts';

/** A tiny Blender-layout dataset: n train views and one test view, 32x32, as path -> bytes. */
function blenderFiles(nTrain: number, dropImage?: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const fov = 40;
  for (const [split, n] of [
    ['train', nTrain],
    ['test', 1],
  ] as const) {
    const frames = Array.from({ length: n }, (_, i) => {
      const cam = orbitCamera(i * 1.3 + (split === 'test' ? 0.4 : 0), 0.5, 32, fov);
      const m = cam.c2w;
      // OpenCV camera-to-world back to Blender's OpenGL convention: negate columns 1 and 2.
      const gl = [0, 1, 2].map((r) => [m[r * 4]!, -m[r * 4 + 1]!, -m[r * 4 + 2]!, m[r * 4 + 3]!]);
      const path = `${split}/r_${i}.png`;
      if (path !== dropImage) files[path] = encodePng(renderProcedural(cam, 1), 32, 32);
      return { file_path: `./${split}/r_${i}`, transform_matrix: [...gl, [0, 0, 0, 1]] };
    });
    files[`transforms_${split}.json`] = new TextEncoder().encode(JSON.stringify({ camera_angle_x: (fov * Math.PI) / 180, frames }));
  }
  return files;
}

test('open a dataset as a .zip, as a folder and by dropping a folder; a broken one names the missing file', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slimfield-open-'));
  const good = join(dir, 'mini.zip');
  writeFileSync(good, zipSync(blenderFiles(3)));
  const broken = join(dir, 'broken.zip');
  writeFileSync(broken, zipSync(blenderFiles(3, 'train/r_2.png')));
  const folder = join(dir, 'minifolder');
  for (const [p, bytes] of Object.entries(blenderFiles(4))) {
    mkdirSync(join(folder, p, '..'), { recursive: true });
    writeFileSync(join(folder, p), bytes);
  }

  const dropped = join(dir, 'dropfolder');
  for (const [p, bytes] of Object.entries(blenderFiles(5))) {
    mkdirSync(join(dropped, p, '..'), { recursive: true });
    writeFileSync(join(dropped, p), bytes);
  }

  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await page.goto(url);
    await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    await page.getByTestId('downscale').selectOption('1');

    await page.getByTestId('open-zip').setInputFiles(good);
    await page.getByTestId('dataset-name').filter({ hasText: 'mini.zip' }).waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('dataset-name').innerText(), /mini\.zip \(3 views, 1 test, 32×32\)/);
    await page.getByTestId('train').waitFor();

    await page.getByTestId('open-zip').setInputFiles(broken);
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 60_000 });
    assert.match(await alert.innerText(), /train\/r_2\.png/);

    await page.getByTestId('open-folder').setInputFiles(folder);
    await page.getByTestId('dataset-name').filter({ hasText: 'minifolder' }).waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('dataset-name').innerText(), /minifolder \(4 views, 1 test, 32×32\)/);

    // A folder dragged from the file manager onto the viewport, at the chosen downscale.
    await page.getByTestId('downscale').selectOption('2');
    await dropPaths(page, 'viewport', [dropped]);
    await page.getByTestId('dataset-name').filter({ hasText: 'dropfolder' }).waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('dataset-name').innerText(), /dropfolder \(5 views, 1 test, 16×16\)/);
    assert.equal(await page.getByTestId('thumbnail').count(), 5);
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
