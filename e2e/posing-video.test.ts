// A phone video into the studio: a 3-second orbit of the procedural scene, encoded by our own video
// export (WebCodecs through mediabunny) with its frames stored sideways and a rotation in its
// metadata, as a phone held upright records. Dropped (picked) on the studio, its keyframes are
// taken (the count changed by the user), turned upright, posed in order and placed; Continue
// opens them for training at the upright size. A cut copy, a file that is not a video and one
// with only an audio track get a message naming the file, and the page stays usable.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { artifacts, captureFolder, STATUS_TIMEOUT_MS, WEBGPU_FLAGS, withStudio } from './harness.ts';

/** Encodes the orbit in the page with the studio's own video writer: 45 frames of 120×160 (upright), stored as 160×120 turned 90° anticlockwise, rotation 90 in the metadata. */
async function orbitVideo(page: Page): Promise<{ bytes: Uint8Array; extension: string }> {
  const r = await page.evaluate(async () => {
    const enc = (await import('/src/view/video-encoder.ts' as string)) as typeof import('../src/view/video-encoder.ts');
    const proc = (await import('/src/data/procedural.ts' as string)) as typeof import('../src/data/procedural.ts');
    const format = (await enc.videoFormatFor(160, 120, 15, 'webm'))!;
    const writer = await enc.VideoWriter.open(160, 120, 15, format, 90);
    for (let i = 0; i < 45; i++) {
      const cam = proc.orbitCamera(((i * 120) / 44) * (Math.PI / 180), 0.4, 160, 40);
      const square = proc.renderProcedural(cam, 2, 'environment', 'noise');
      // Upright: columns 20..139 of the square render (120 wide, 160 high). Stored: that turned 90°
      // anticlockwise (160 wide, 120 high): stored (x, y) is upright (119 - y, x).
      const stored = new Uint8Array(160 * 120 * 4);
      for (let y = 0; y < 120; y++)
        for (let x = 0; x < 160; x++) stored.set(square.subarray((x * 160 + 20 + 119 - y) * 4, (x * 160 + 20 + 119 - y) * 4 + 4), (y * 160 + x) * 4);
      await writer.add(stored, i);
    }
    const bytes = await writer.finish();
    let text = '';
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!);
    return { data: btoa(text), extension: format.extension };
  });
  return { bytes: new Uint8Array(Buffer.from(r.data, 'base64')), extension: r.extension };
}

/**
 * A WebM with one Opus audio track and no video, written with mediabunny in a page of its own (the
 * package imported by name is a second copy beside the studio's, which mediabunny warns about).
 */
async function audioOnly(studio: Page, url: string): Promise<Uint8Array> {
  const page = await studio.context().newPage();
  await page.goto(url);
  const data = await page.evaluate(async () => {
    const mb = (await import('/@id/mediabunny' as string)) as typeof import('mediabunny');
    const output = new mb.Output({ format: new mb.WebMOutputFormat(), target: new mb.BufferTarget() });
    const source = new mb.AudioSampleSource({ codec: 'opus', bitrate: 64_000 });
    output.addAudioTrack(source);
    await output.start();
    const sample = new mb.AudioSample({ data: new Float32Array(48_000), format: 'f32', numberOfChannels: 1, sampleRate: 48_000, timestamp: 0 });
    await source.add(sample);
    sample.close();
    await output.finalize();
    const bytes = new Uint8Array(output.target.buffer!);
    let text = '';
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!);
    return btoa(text);
  });
  await page.close();
  return new Uint8Array(Buffer.from(data, 'base64'));
}

const status = (page: Page) => page.getByTestId('posing-view').getAttribute('data-status');

test('a phone video: keyframes taken upright, posed in order, placed; a cut one and one without a picture are named', { timeout: 480_000 }, async () => {
  await withStudio(WEBGPU_FLAGS, async (page, url, errors) => {
    await page.goto(url);
    await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
    const video = await orbitVideo(page);
    const audio = await audioOnly(page, url);
    const folder = captureFolder('videos', [
      [`orbit${video.extension}`, video.bytes],
      [`cut${video.extension}`, video.bytes.subarray(0, Math.floor(video.bytes.length * 0.4))],
      ['words.mp4', new TextEncoder().encode('not a video at all, only words')],
      ['audio-only.webm', audio],
    ]);
    await page.getByTestId('downscale').selectOption('1');

    // Dropped: keyframes are taken at once; cancel, ask for 12 instead of 100, give the lens (40°
    // across the long edge: a video states no focal length, so it would be searched), and pose again.
    await page.getByTestId('open-photos').setInputFiles(join(folder, `orbit${video.extension}`));
    await page.getByTestId('posing-view').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('posing-keyframe-target').inputValue(), '100');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="posing-keyframes"]')?.getAttribute('data-done')) >= 1, null, {
      timeout: 120_000,
    });
    await page.getByTestId('posing-cancel').click();
    await page.locator('[data-testid="posing-view"][data-status="cancelled"]').waitFor({ timeout: 5_000 });
    await page.getByTestId('posing-keyframe-target').fill('12');
    assert.equal(await page.getByTestId('posing-fov').inputValue(), '', 'searched unless given');
    await page.getByTestId('posing-fov').fill('40');
    await page.getByTestId('posing-again').click();
    await page.locator('[data-testid="posing-view"]:not([data-status="running"])').waitFor({ timeout: 300_000 });
    const panel = await page.getByTestId('posing-panel').innerText();
    assert.equal(await status(page), 'done', panel + errors.join('\n'));
    // 45 frames in 12 stretches; every keyframe is placed.
    assert.equal(await page.getByTestId('posing-keyframes').getAttribute('data-total'), '36');
    const placed = Number(await page.getByTestId('posing-registered').getAttribute('data-done'));
    const taken = Number(await page.getByTestId('posing-registered').getAttribute('data-total'));
    assert.ok(taken >= 8 && placed === taken, `${placed} of ${taken} keyframes placed\n${panel}`);
    assert.match(panel, /keyframes from 3\.0 s of 120×160 video/);
    assert.match(panel, /turned 90° as its metadata says/);
    assert.doesNotMatch(panel, /searched fields of view/, 'the lens given is used');
    console.log(`video: ${placed} of ${taken} keyframes placed in ${await page.getByTestId('posing-seconds').textContent()}`);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `${artifacts}/posing-video.png` });

    // Continue: the keyframes open upright.
    await page.getByTestId('posing-continue').click();
    const name = page.getByTestId('dataset-name');
    await name.waitFor({ timeout: 60_000 });
    assert.match(await name.innerText(), new RegExp(`orbit\\${video.extension} \\(\\d+ views, \\d+ test, 120×160`));

    // A cut copy and a file that is not a video: named, and the page stays usable.
    for (const [file, problem] of [
      [`cut${video.extension}`, /cut\.\w+: cannot be (read as a video|decoded after|posed: \d+ of the \d+ frames looked at could be decoded)/],
      ['words.mp4', /words\.mp4: cannot be read as a video/],
      ['audio-only.webm', /audio-only\.webm: holds no video track/],
    ] as const) {
      await page.getByTestId('open-photos').setInputFiles(join(folder, file));
      await page.locator('[data-testid="posing-view"][data-status="failed"]').waitFor({ timeout: 120_000 });
      const said = await page.getByRole('alert').innerText();
      console.log(said);
      assert.match(said, problem);
    }
    await page.getByTestId('load-demo').click();
    await page.getByTestId('dataset-name').filter({ hasText: 'demo' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(errors, [], errors.join('\n'));
  });
});
