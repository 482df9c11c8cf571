// npm run bench:video: the studio's video path in Chromium (WebGPU on the machine's adapter:
// SwiftShader here, a GPU where there is one), timed and checked against known cameras. A
// procedural orbit (`--seconds`, default 10, at 15 frames a second, `--size` pixels square,
// default 240, all the way round at 0.4 rad elevation) is encoded in the page by the studio's own
// video writer, picked as a user would, its keyframes taken (`--keyframes`, default the studio's
// 100) and posed in the worker (the lens searched for, or `--fov DEG` given in the step's box as a
// user who knows it would); the poses are saved as the studio saves them and compared with
// the orbit's cameras at the keyframes' times: keyframes placed, rotation error after the
// similarity of the centres (camera/align.ts), pairwise rotation error, the seconds the studio
// shows, and the adapter. One JSON line. `--keep FILE.zip` keeps the saved poses (keyframes included) and a
// screenshot of the step beside it (FILE.png).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { unzipSync } from 'fflate';
import { captureFolder, launch, STATUS_TIMEOUT_MS, startServer, WEBGPU_FLAGS } from '../e2e/harness.ts';
import { pairwiseRotationErrors, poseError } from '../src/camera/align.ts';
import { orbitCamera } from '../src/data/procedural.ts';
import type { PosedView } from '../src/data/types.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { seconds: { type: 'string' }, size: { type: 'string' }, keyframes: { type: 'string' }, fov: { type: 'string' }, keep: { type: 'string' } },
});
const seconds = Number(values.seconds ?? 10);
const size = Number(values.size ?? 240);
const fps = 15;
const frames = Math.round(seconds * fps);
const elevation = 0.4;
const fov = 40;
const azimuthAt = (t: number) => (2 * Math.PI * t) / seconds;

const { server, url } = await startServer();
const browser = await launch(process.env.SLIMFIELD_REAL_GPU ? WEBGPU_FLAGS.filter((f) => !/swiftshader/.test(f)) : WEBGPU_FLAGS);
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })).newPage();
  await page.goto(url);
  await page.getByTestId('webgpu-status').filter({ hasText: 'WebGPU ready' }).waitFor({ timeout: STATUS_TIMEOUT_MS });
  const adapter = await page.getByTestId('adapter-info').locator('.adapter-label').textContent();
  const t0 = performance.now();
  const video = await page.evaluate(
    async ({ size, frames, fps, elevation, fov }) => {
      const enc = (await import('/src/view/video-encoder.ts' as string)) as typeof import('../src/view/video-encoder.ts');
      const proc = (await import('/src/data/procedural.ts' as string)) as typeof import('../src/data/procedural.ts');
      const format = (await enc.videoFormatFor(size, size, fps, 'webm'))!;
      const writer = await enc.VideoWriter.open(size, size, fps, format);
      for (let i = 0; i < frames; i++) {
        await writer.add(proc.renderProcedural(proc.orbitCamera((2 * Math.PI * i) / frames, elevation, size, fov), 2, 'environment', 'noise'), i);
      }
      const bytes = await writer.finish();
      let text = '';
      for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!);
      return { data: btoa(text), extension: format.extension, codec: format.codec };
    },
    { size, frames, fps, elevation, fov },
  );
  const encodeSeconds = (performance.now() - t0) / 1000;
  const folder = captureFolder('bench-video', [[`orbit${video.extension}`, new Uint8Array(Buffer.from(video.data, 'base64'))]]);
  await page.getByTestId('open-photos').setInputFiles(join(folder, `orbit${video.extension}`));
  await page.getByTestId('posing-view').waitFor({ timeout: 60_000 });
  if (values.keyframes || values.fov) {
    await page.getByTestId('posing-cancel').click();
    await page.locator('[data-testid="posing-view"]:not([data-status="running"])').waitFor({ timeout: 10_000 });
    if (values.keyframes) await page.getByTestId('posing-keyframe-target').fill(values.keyframes);
    if (values.fov) await page.getByTestId('posing-fov').fill(values.fov);
    await page.getByTestId('posing-again').click();
  }
  await page.locator('[data-testid="posing-view"]:not([data-status="running"])').waitFor({ timeout: 3_600_000 });
  const panel = await page.getByTestId('posing-panel').textContent();
  if ((await page.getByTestId('posing-view').getAttribute('data-status')) !== 'done') throw new Error(`posing did not finish:\n${panel}`);
  const [saved] = await Promise.all([page.waitForEvent('download'), page.getByTestId('posing-save').click()]);
  const zip = new Uint8Array(readFileSync((await saved.path())!));
  if (values.keep) {
    writeFileSync(values.keep, zip);
    await page.screenshot({ path: values.keep.replace(/\.zip$/i, '.png') });
  }
  const files = unzipSync(zip);
  const transforms = JSON.parse(new TextDecoder().decode(files['transforms.json'])) as {
    frames: { file_path: string; transform_matrix: number[][]; fl_x: number; w: number }[];
  };
  const est: PosedView[] = [];
  const truth: PosedView[] = [];
  for (const f of transforms.frames) {
    const t = Number(/frame_(\d+)\.jpg$/.exec(f.file_path)![1]) / 1000;
    const m = f.transform_matrix;
    // nerfstudio's OpenGL camera-to-world back to ours (OpenCV): columns 1 and 2 negated.
    const c2w = Float64Array.from([0, 1, 2].flatMap((r) => [m[r]![0]!, -m[r]![1]!, -m[r]![2]!, m[r]![3]!]));
    const cam = orbitCamera(azimuthAt(t), elevation, size, fov);
    est.push({ ...cam, c2w });
    truth.push(cam);
  }
  const err = poseError(est, truth);
  const pairwise = pairwiseRotationErrors(est, truth);
  const placed = Number(await page.getByTestId('posing-registered').getAttribute('data-done'));
  const taken = Number(await page.getByTestId('posing-registered').getAttribute('data-total'));
  const row = {
    video: `${seconds} s, ${frames} frames of ${size}×${size}, ${video.codec}`,
    lens: values.fov ? `${values.fov}° given` : 'searched',
    keyframes: taken,
    placed,
    rotationErrorDeg: { median: +err.medianRotationDeg.toFixed(3), mean: +err.rotationDeg.toFixed(3) },
    pairwiseDeg: { median: +pairwise[pairwise.length >> 1]!.toFixed(3), worst: +pairwise.at(-1)!.toFixed(3) },
    focalPx: { found: +transforms.frames[0]!.fl_x.toFixed(1), true: +((0.5 * size) / Math.tan((fov * Math.PI) / 360)).toFixed(1) },
    reprojectionErrorPx: Number(await page.getByTestId('posing-error-px').getAttribute('data-px')),
    posingSeconds: Number.parseFloat((await page.getByTestId('posing-seconds').textContent()) ?? 'NaN'),
    encodeSeconds: +encodeSeconds.toFixed(1),
    adapter,
  };
  console.log(JSON.stringify(row));
} finally {
  await browser.close();
  await server.close();
}
