// Hostile archives and folders in the studio: each is refused with a message naming the file, the
// problem and the limit (taken from the memory the browser reports), in bounded time, and the
// page stays usable (the demo scene opens afterwards). Messages land in
// test-artifacts/e2e/hostile.json for the closing note.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { blenderDataset, datasetZip, deflated, jpegClaiming, pngClaiming, rawZip, stored, zipBomb } from '../test/fixtures/hostile.ts';
import { artifacts, dropPaths, STATUS_TIMEOUT_MS, WEBGPU_FLAGS, withStudio } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'slimfield-hostile-e2e-'));
const file = (name: string, bytes: Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};
const folder = (name: string, files: Map<string, Uint8Array>) => {
  const root = join(dir, name);
  for (const [p, b] of files) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), b);
  }
  return root;
};
const withImage = (image: Uint8Array, ext: string) =>
  blenderDataset((f) => {
    f.delete('train/r_1.png');
    f.set(`train/r_1.${ext}`, image);
    const json = JSON.parse(new TextDecoder().decode(f.get('transforms_train.json')));
    json.frames[1].file_path = `./train/r_1.${ext}`;
    f.set('transforms_train.json', new TextEncoder().encode(JSON.stringify(json)));
  });

test('hostile archives and folders are refused in the studio, which stays usable', { timeout: 600_000 }, async () => {
  const honest = deflated('train/big.bin', new Uint8Array(64 << 20));
  const zips: [string, Uint8Array, RegExp][] = [
    // 400 overlapping entries of 64 MiB: 25 GiB declared by a zip of 90 KiB.
    [
      'bomb.zip',
      zipBomb(400),
      /^bomb\.zip: its 403 files inflate to 25\.0 GiB \(a zip bomb\?\), more than the .+ a dataset may take here \(a quarter of the .+ of memory the browser reports\); refused$/,
    ],
    [
      'liar.zip',
      datasetZip([{ ...honest, size: 100 }]),
      /^liar\.zip: entry "train\/big\.bin" declares 100 B inflated from 63\.7 KiB, which no zip writer produces; refused$/,
    ],
    [
      'climb.zip',
      datasetZip([stored('../../outside.txt', new Uint8Array(1))]),
      /^climb\.zip: entry "\.\.\/\.\.\/outside\.txt" has a "\.\." that climbs out of the archive; refused$/,
    ],
    ['absolute.zip', datasetZip([stored('/etc/passwd', new Uint8Array(1))]), /^absolute\.zip: entry "\/etc\/passwd" has an absolute path; refused$/],
    [
      'dup.zip',
      datasetZip([stored('train/r_0.png', new Uint8Array(4))]),
      /^dup\.zip: two entries are named "train\/r_0\.png"; which one is meant is unclear, so the archive is refused$/,
    ],
    [
      'many.zip',
      rawZip(Array.from({ length: 20_000 }, (_, i) => stored(`junk/${i}`, new Uint8Array(1)))),
      /^many\.zip: the archive has more than 10,000 entries; a dataset may have at most 10,000 files; refused$/,
    ],
    [
      'huge-png.zip',
      datasetZip([], withImage(pngClaiming(60000, 60000), 'png')),
      /^huge-png\.zip\/train\/r_1\.png: its header claims 60000x60000 pixels \(3,600 megapixels, 13\.4 GiB decoded\), more than the .+ megapixels an image may have here \(.+ decoded, a sixteenth of the .+ of memory the browser reports\); refused$/,
    ],
    ['huge-jpeg.zip', datasetZip([], withImage(jpegClaiming(60000, 60000), 'jpg')), /^huge-jpeg\.zip\/train\/r_1\.jpg: its header claims 60000x60000 pixels/],
  ];
  const hugeFolder = folder('huge-png', withImage(pngClaiming(60000, 60000), 'png'));
  // A folder holding a link back to itself.
  const loop = folder('loop', blenderDataset());
  symlinkSync(loop, join(loop, 'train', 'again'));

  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await page.goto(url);
    await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    const alert = page.getByRole('alert');
    const seen: Record<string, { message: string; ms: number }> = {};
    const expectRefusal = async (name: string, pattern: RegExp, act: () => Promise<void>) => {
      const t0 = performance.now();
      await act();
      await alert.filter({ hasText: name.replace(/\/$/, '') }).waitFor({ timeout: 60_000 });
      const message = await alert.innerText();
      seen[name] = { message, ms: Math.round(performance.now() - t0) };
      assert.match(message, pattern);
    };
    for (const [name, bytes, pattern] of zips) {
      await expectRefusal(name, pattern, () => page.getByTestId('open-zip').setInputFiles(file(name, bytes)));
    }
    await expectRefusal('huge-png/', /^huge-png\/train\/r_1\.png: its header claims 60000x60000 pixels/, () => dropPaths(page, 'viewport', [hugeFolder]));
    // Chromium does not follow the link, or follows it to the depth limit: either way the walk ends.
    const t0 = performance.now();
    await dropPaths(page, 'viewport', [loop]);
    await page
      .getByTestId('dataset-name')
      .filter({ hasText: 'loop' })
      .or(alert.filter({ hasText: 'loop' }))
      .waitFor({ timeout: 60_000 });
    const loopOutcome =
      (await alert.count()) && (await alert.innerText()).includes('loop') ? await alert.innerText() : await page.getByTestId('dataset-name').innerText();
    seen['loop/'] = { message: loopOutcome, ms: Math.round(performance.now() - t0) };
    assert.ok(/nest more than 32 deep|loop \(2 views/.test(loopOutcome), loopOutcome);

    // Still usable: the demo scene opens.
    await page.getByTestId('load-demo').click();
    await page.getByTestId('dataset-name').filter({ hasText: 'built-in demo scene' }).waitFor({ timeout: 60_000 });
    await writeFile(`${artifacts}/hostile.json`, `${JSON.stringify(seen, null, 2)}\n`);
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
