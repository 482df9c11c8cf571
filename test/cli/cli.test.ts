// The command line as a user meets it: bad input gives one clear line naming the file and the
// problem, exit code 1, no stack trace; good input ends stdout with one JSON object.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { openDataset } from '../../src/cli/node-io.ts';
import { decodeModel } from '../../src/formats/model-file.ts';
import { proceduralCapture } from '../fixtures/colmap.ts';
import { blenderDataset, datasetZip, pngClaiming, rawZip, stored, zipBomb } from '../fixtures/hostile.ts';
import { proceduralLlff } from '../fixtures/llff.ts';
import { photoFiles, walkAround } from '../fixtures/photos.ts';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'slimfield-cli-'));

function expectError(r: ReturnType<typeof cli>, pattern: RegExp) {
  assert.equal(r.code, 1, `exit code 1 (stderr: ${r.err})`);
  assert.match(r.err, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace for a user error');
}

test('config errors name the file and the option', () => {
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"n_iters": 10,');
  expectError(cli('train', '--data', 'builtin:demo', '--model', 'vm48', '--config', broken), /broken\.json: broken JSON/);
  const unknown = join(dir, 'unknown.json');
  writeFileSync(unknown, '{"n_itters": 10}');
  expectError(cli('train', '--data', 'builtin:demo', '--model', 'vm48', '--config', unknown), /unknown\.json: unknown option "n_itters"/);
  const wrong = join(dir, 'wrong.json');
  writeFileSync(wrong, '{"upsamp_list": "200"}');
  expectError(cli('train', '--data', 'builtin:demo', '--model', 'vm48', '--config', wrong), /option "upsamp_list" must be a list/);
  expectError(cli('train', '--data', 'builtin:demo', '--model', 'vm999'), /--model must be one of vm192, vm48, cp384, slimmerf16, slimmerf8/);
  expectError(cli('train', '--data', 'builtin:demo', '--model', 'vm48', '--iters', 'ten'), /--iters must be an integer/);
  // The coarse-to-fine blur: VM and CP only; widths are non-negative numbers.
  expectError(cli('train', '--data', 'builtin:demo', '--model', 'strivec', '--coarse-to-fine'), /blur_schedule.*VM and CP.*Strivec/);
  const widths = join(dir, 'widths.json');
  writeFileSync(widths, '{"blur_schedule": [0.3, -1]}');
  expectError(
    cli('train', '--data', 'builtin:demo', '--model', 'vm48', '--config', widths),
    /option "blur_schedule" must be a list of at most 1000 non-negative numbers/,
  );
});

test('dataset errors name the file: missing folder, NaN pose', () => {
  expectError(cli('train', '--data', join(dir, 'nope'), '--model', 'vm48'), /nope.*(no transforms|not found|cannot)/i);
  const scene = join(dir, 'nanpose');
  mkdirSync(scene);
  writeFileSync(
    join(scene, 'transforms_train.json'),
    JSON.stringify({
      camera_angle_x: 0.7,
      frames: [
        {
          file_path: './r_0',
          transform_matrix: [
            [1, 0, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 'NaN'],
            [0, 0, 0, 1],
          ],
        },
      ],
    }).replace('"NaN"', 'null'),
  );
  expectError(cli('train', '--data', scene, '--model', 'vm48'), /transforms_train\.json.*frame 0/);
});

test('hostile archives and folders are refused through the CLI, naming the file and the limit', async () => {
  const basis = /\(a quarter of the [\d.]+ GiB of memory this machine has\); refused/;
  const write = (name: string, bytes: Uint8Array) => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
  // A zip bomb of a few dozen KiB that declares 2.5 GiB per 40 entries: 400 entries declare 25 GiB.
  const bomb = write('bomb.zip', zipBomb(400));
  expectError(
    cli('train', '--data', bomb, '--model', 'vm48'),
    new RegExp(`bomb\\.zip: its 403 files inflate to 25\\.0 GiB \\(a zip bomb\\?\\), more than the .* a dataset may take here ${basis.source}`),
  );
  const climb = write('climb.zip', datasetZip([stored('../../outside.txt', new Uint8Array(1))]));
  expectError(
    cli('train', '--data', climb, '--model', 'vm48'),
    /climb\.zip: entry "\.\.\/\.\.\/outside\.txt" has a "\.\." that climbs out of the archive; refused/,
  );
  const dup = write('dup.zip', datasetZip([stored('train/r_0.png', new Uint8Array(4))]));
  expectError(cli('train', '--data', dup, '--model', 'vm48'), /dup\.zip: two entries are named "train\/r_0\.png"/);
  const many = write('many.zip', rawZip(Array.from({ length: 10_001 }, (_, i) => stored(`junk/${i}`, new Uint8Array(1)))));
  expectError(
    cli('train', '--data', many, '--model', 'vm48'),
    /many\.zip: the archive has more than 10,000 entries; a dataset may have at most 10,000 files; refused/,
  );
  // A folder whose second image claims 60000x60000 pixels.
  const huge = join(dir, 'huge');
  for (const [path, bytes] of blenderDataset((f) => f.set('train/r_1.png', pngClaiming(60000, 60000)))) {
    mkdirSync(join(huge, path, '..'), { recursive: true });
    writeFileSync(join(huge, path), bytes);
  }
  expectError(
    cli('train', '--data', huge, '--model', 'vm48'),
    /train\/r_1\.png: its header claims 60000x60000 pixels \(3,600 megapixels, 13\.4 GiB decoded\), more than the .* megapixels an image may have here \(.* decoded, a sixteenth of the [\d.]+ GiB of memory this machine has\); refused/,
  );
  // A folder whose images are a loop of symbolic links.
  const loop = join(dir, 'loop');
  for (const [path, bytes] of blenderDataset()) {
    mkdirSync(join(loop, path, '..'), { recursive: true });
    if (!path.startsWith('train/')) writeFileSync(join(loop, path), bytes);
  }
  symlinkSync(join(loop, 'train/r_1.png'), join(loop, 'train/r_0.png'));
  symlinkSync(join(loop, 'train/r_0.png'), join(loop, 'train/r_1.png'));
  expectError(cli('train', '--data', loop, '--model', 'vm48'), /r_0\.png: a loop of symbolic links in .*loop; refused/);
});

test('train, save, eval and render the built-in scene; damaged model files are refused', () => {
  const model = join(dir, 'demo.slim');
  const cfg = join(dir, 'tiny.json');
  writeFileSync(cfg, JSON.stringify({ N_voxel_init: 4096, N_voxel_final: 8000, upsamp_list: [3], update_AlphaMask_list: [4], featureC: 8, batch_size: 64 }));
  const tr = cli(
    'train',
    '--data',
    'builtin:demo',
    '--model',
    'vm48',
    '--config',
    cfg,
    '--iters',
    '6',
    '--downscale',
    '8',
    '--test-views',
    '2',
    '--out',
    model,
  );
  assert.equal(tr.code, 0, tr.err);
  const res = JSON.parse(tr.out.trim().split('\n').at(-1)!);
  for (const k of ['model', 'iters', 'seconds', 'psnr', 'ssim', 'testViews', 'params', 'samplesPerSecond', 'adapter']) assert.ok(k in res, `result has ${k}`);
  assert.equal(res.iters, 6);
  assert.equal(res.testViews, 2);

  const ev = cli('eval', '--model', model, '--data', 'builtin:demo', '--downscale', '8', '--test-views', '2');
  assert.equal(ev.code, 0, ev.err);
  const evRes = JSON.parse(ev.out.trim().split('\n').at(-1)!);
  assert.ok(Math.abs(evRes.psnr - res.psnr) < 1e-3, 'eval of the saved model reproduces the training-time PSNR');
  assert.ok(evRes.bytes > 1000);

  const png = join(dir, 'view.png');
  const rd = cli('render', '--model', model, '--data', 'builtin:demo', '--view', '1', '--out', png, '--downscale', '8');
  assert.equal(rd.code, 0, rd.err);
  assert.equal(readFileSync(png).subarray(1, 4).toString(), 'PNG');
  expectError(cli('render', '--model', model, '--data', 'builtin:demo', '--view', '99', '--out', png, '--downscale', '8'), /--view 99 is out of range/);

  // Geometry: a small lattice is enough to check the command, its record and the file it writes.
  const glb = join(dir, 'demo.glb');
  const me = cli('mesh', '--model', model, '--resolution', '24', '--level', '0.05', '--simplify', '0.5', '--out', glb);
  assert.equal(me.code, 0, me.err);
  const meRes = JSON.parse(me.out.trim().split('\n').at(-1)!);
  for (const k of ['out', 'rank', 'resolution', 'level', 'simplify', 'vertices', 'triangles', 'bytes', 'seconds'])
    assert.ok(k in meRes, `mesh record has ${k}`);
  assert.equal(readFileSync(glb).subarray(0, 4).toString(), 'glTF');
  assert.equal(readFileSync(glb).length, meRes.bytes);
  expectError(cli('points', '--model', model, '--out', join(dir, 'p.glb')), /--out must end in \.ply/);
  expectError(cli('splats', '--model', model, '--sh-degree', '2', '--out', join(dir, 's.ply')), /--sh-degree must be 0 or 1, got "2"/);

  // Video: an orbit fitted to the dataset's cameras, as numbered PNG frames; a broken path file is
  // refused naming the file.
  const frames = join(dir, 'frames');
  const vi = cli(
    'video',
    '--model',
    model,
    '--data',
    'builtin:demo',
    '--downscale',
    '8',
    '--width',
    '32',
    '--height',
    '18',
    '--fps',
    '4',
    '--seconds',
    '1',
    '--out',
    frames,
  );
  assert.equal(vi.code, 0, vi.err);
  const viRes = JSON.parse(vi.out.trim().split('\n').at(-1)!);
  for (const k of ['out', 'frames', 'width', 'height', 'fps', 'rank', 'path', 'secondsPerFrame', 'encode']) assert.ok(k in viRes, `video record has ${k}`);
  assert.equal(viRes.frames, 4);
  assert.equal(viRes.path, 'orbit', "the demo's ring of cameras gets an orbit");
  assert.deepEqual(readdirSync(frames).sort(), ['frame-00000.png', 'frame-00001.png', 'frame-00002.png', 'frame-00003.png']);
  const first = readFileSync(join(frames, 'frame-00000.png'));
  assert.deepEqual([first.readUInt32BE(16), first.readUInt32BE(20)], [32, 18], 'frames have the asked size');
  const badPath = join(dir, 'path.json');
  writeFileSync(badPath, JSON.stringify({ format: 'slimfield-camera-path', version: 1, keyframes: [], seconds: 4, fovDeg: 40, closed: false }));
  expectError(cli('video', '--model', model, '--path', badPath, '--out', frames), /path\.json: .*keyframe/);
  expectError(cli('video', '--model', model, '--path', 'spiral', '--out', frames), /--path spiral .*--data/);

  const cut = join(dir, 'cut.slim');
  writeFileSync(cut, readFileSync(model).subarray(0, 5000));
  expectError(cli('eval', '--model', cut, '--data', 'builtin:demo', '--downscale', '8'), /cut\.slim: .*(truncated|past the end)/);
  expectError(cli('eval', '--model', join(dir, 'missing.slim'), '--data', 'builtin:demo'), /missing\.slim: cannot read \(ENOENT\)/);
});

/** A COLMAP capture of the procedural scene (`views` views of 24×24) written into the test folder. */
function colmapCapture(name: string, views: number): string {
  const capture = join(dir, name);
  for (const [path, bytes] of proceduralCapture(views, 24)) {
    mkdirSync(join(capture, path, '..'), { recursive: true });
    writeFileSync(join(capture, path), bytes);
  }
  return capture;
}

/** A config file for a few quick iterations on such a capture. */
function tinyCaptureConfig(): string {
  const cfg = join(dir, 'capture-tiny.json');
  writeFileSync(cfg, JSON.stringify({ N_voxel_init: 4096, N_voxel_final: 8000, upsamp_list: [3], update_AlphaMask_list: [4], featureC: 8, batch_size: 64 }));
  return cfg;
}

test('a COLMAP capture trains through the CLI, scored on its every-8th held-out views (or on training views with --hold-out 0)', () => {
  const capture = colmapCapture('colmap-capture', 24);
  const cfg = tinyCaptureConfig();
  const tr = cli('train', '--data', capture, '--model', 'vm48', '--config', cfg, '--iters', '6', '--test-views', '3');
  assert.equal(tr.code, 0, tr.err);
  const res = JSON.parse(tr.out.trim().split('\n').at(-1)!);
  assert.equal(res.evalSplit, 'test');
  assert.equal(res.testViews, 3, 'the 3 held-out views (views 0, 8, 16 of 24)');
  assert.match(tr.err, /loading colmap-capture: 24\/24 images/);
  const all = cli('train', '--data', capture, '--model', 'vm48', '--config', cfg, '--iters', '2', '--test-views', '2', '--hold-out', '0');
  assert.equal(all.code, 0, all.err);
  assert.equal(JSON.parse(all.out.trim().split('\n').at(-1)!).evalSplit, 'train');
  expectError(cli('train', '--data', capture, '--model', 'vm48', '--hold-out=-1'), /--hold-out must be an integer >= 0/);
  expectError(cli('train', '--data', capture, '--model', 'vm48', '--hold-out', '-1'), /Option '--hold-out' argument is ambiguous/);
});

test('an LLFF capture as a .zip trains through the CLI in NDC, scored on its held-out views; the video path is a spiral', () => {
  const zip = join(dir, 'fern.zip');
  writeFileSync(zip, zipSync(Object.fromEntries(proceduralLlff(17, 24).files)));
  const cfg = join(dir, 'llff-tiny.json');
  writeFileSync(cfg, JSON.stringify({ N_voxel_init: 4096, N_voxel_final: 8000, upsamp_list: [3], update_AlphaMask_list: [4], featureC: 8, batch_size: 64 }));
  const model = join(dir, 'fern.slim');
  const tr = cli('train', '--data', zip, '--model', 'vm48', '--config', cfg, '--iters', '6', '--test-views', '3', '--out', model);
  assert.equal(tr.code, 0, tr.err);
  const res = JSON.parse(tr.out.trim().split('\n').at(-1)!);
  assert.equal(res.evalSplit, 'test');
  assert.equal(res.testViews, 3, 'views 0, 8 and 16 of 17 held out');
  assert.ok(res.ndc && !res.contraction, 'a forward-facing capture of its surroundings trains in NDC');
  const vi = cli(
    'video',
    '--model',
    model,
    '--data',
    zip,
    '--width',
    '16',
    '--height',
    '16',
    '--fps',
    '2',
    '--seconds',
    '1',
    '--out',
    join(dir, 'fern-frames'),
  );
  assert.equal(vi.code, 0, vi.err);
  assert.equal(JSON.parse(vi.out.trim().split('\n').at(-1)!).path, 'spiral');
});

test('train --refine-poses on a COLMAP capture: pose errors in the JSON, --export-poses writes a capture that opens again through both its formats', async () => {
  const capture = colmapCapture('refine-capture', 12);
  const cfg = tinyCaptureConfig();
  const out = join(dir, 'refined');
  const tr = cli(
    'train',
    '--data',
    capture,
    '--model',
    'vm48',
    '--config',
    cfg,
    '--iters',
    '6',
    '--test-views',
    '2',
    '--hold-out',
    '4',
    '--refine-poses',
    '--export-poses',
    out,
  );
  assert.equal(tr.code, 0, tr.err);
  const res = JSON.parse(tr.out.trim().split('\n').at(-1)!);
  assert.deepEqual(res.blurSchedule, [0.3, 0.15, 0.07, 0, 0, 0, 0, 0, 0, 0, 0], 'refinement trains through the blur by default');
  assert.deepEqual(res.imageBlurSchedule, [0.025, 0.0125, 0.00625, 0, 0, 0, 0, 0, 0, 0, 0], 'with the supervision blurred to match');
  assert.equal(res.edgeLoss, true, 'and the edge-guided loss');
  assert.equal(res.poses.cameras, 9, 'the 9 training views (3 of 12 held out)');
  assert.equal(res.poses.reference, 'dataset');
  assert.equal(res.poses.before.rotationDeg, 0);
  assert.ok(res.poses.after.rotationDeg > 0 && res.poses.after.rotationDeg < 1, `refinement moved the cameras a little (${res.poses.after.rotationDeg}°)`);
  assert.equal(res.poses.exported, out);
  assert.match(tr.err, /refined cameras of 9 training views written to/);
  // The photos keep their own names (the 9 of 12 not held out: every 4th from the first is), so the poses match the user's files.
  const trained = [1, 2, 3, 5, 6, 7, 9, 10, 11].map((i) => `view_${String(i).padStart(3, '0')}.png`);
  assert.deepEqual(readdirSync(join(out, 'images')).sort(), trained);
  assert.deepEqual(
    readFileSync(join(out, 'sparse/0/images.txt'), 'utf8')
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => l.split(' ').at(-1)),
    trained,
  );
  // The export opens as a capture, through transforms.json and (without it) through the COLMAP
  // model, with the same cameras.
  const viaJson = await openDataset(out, 1, ['train'], 0);
  const colmapOnly = join(dir, 'refined-colmap');
  mkdirSync(colmapOnly);
  symlinkSync(join(out, 'images'), join(colmapOnly, 'images'));
  symlinkSync(join(out, 'sparse'), join(colmapOnly, 'sparse'));
  const viaColmap = await openDataset(colmapOnly, 1, ['train'], 0);
  assert.equal(viaJson.format, 'instant-ngp');
  assert.equal(viaColmap.format, 'colmap');
  const a = viaJson.splits.train!;
  const b = viaColmap.splits.train!;
  assert.equal(a.cameras.length, 9);
  assert.equal(b.cameras.length, 9);
  for (let i = 0; i < 9; i++) {
    for (let k = 0; k < 12; k++) assert.ok(Math.abs(a.cameras[i]!.c2w[k]! - b.cameras[i]!.c2w[k]!) < 1e-5, `view ${i} pose entry ${k}`);
    assert.deepEqual(a.images[i], b.images[i]);
  }
  expectError(cli('train', '--data', capture, '--model', 'vm48', '--export-poses', out), /--export-poses needs --refine-poses/);
  // Strivec refines poses (test/run/training-run.test.ts) but has no factor blur.
  expectError(
    cli('train', '--data', 'builtin:demo', '--model', 'strivec', '--coarse-to-fine'),
    /blur_schedule.*blurs VM and CP fields; Strivec trains without it/,
  );
});

test('SlimmeRF through the CLI: train with TRaIn, eval --ranks prints PSNR and size per rank, render --rank', () => {
  const model = join(dir, 'slim.slim');
  const cfg = join(dir, 'tiny-slim.json');
  // A low υ grows the rank within a few iterations, so the saved model has several groups.
  writeFileSync(
    cfg,
    JSON.stringify({ N_voxel_init: 4096, N_voxel_final: 8000, upsamp_list: [3], update_AlphaMask_list: [4], featureC: 8, batch_size: 64, rank_upsilon: 0.01 }),
  );
  const tr = cli(
    'train',
    '--data',
    'builtin:demo',
    '--model',
    'slimmerf8',
    '--config',
    cfg,
    '--iters',
    '8',
    '--downscale',
    '8',
    '--test-views',
    '1',
    '--train-views',
    '5',
    '--out',
    model,
  );
  assert.equal(tr.code, 0, tr.err);
  const res = JSON.parse(tr.out.trim().split('\n').at(-1)!);
  assert.equal(res.maxRank, 8);
  assert.equal(res.trainViews, 5);
  assert.ok(res.rank >= 2 && res.rankSteps.length === res.rank - 1, `rank ${res.rank}, steps ${res.rankSteps}`);

  const ev = cli('eval', '--model', model, '--data', 'builtin:demo', '--downscale', '8', '--test-views', '1', '--ranks', '1,2,16');
  assert.equal(ev.code, 0, ev.err);
  const evRes = JSON.parse(ev.out.trim().split('\n').at(-1)!);
  assert.equal(evRes.rank, res.rank, 'the saved model holds the trained groups');
  const ranks = evRes.ranks.map((p: { rank: number }) => p.rank);
  assert.deepEqual(
    ranks,
    [1, 2, res.rank].filter((r, i, a) => a.indexOf(r) === i),
    'rank 16 is replaced by the trained rank',
  );
  const last = evRes.ranks.at(-1);
  // Sizes at a rank count an empty info block; the trained file also carries its training facts.
  assert.ok(last.bytes <= evRes.bytes && evRes.bytes - last.bytes < 4096, `${last.bytes} vs file ${evRes.bytes}`);
  assert.ok(Math.abs(last.psnr - evRes.psnr) < 1e-3);
  assert.ok(evRes.ranks[0].bytes < last.bytes && evRes.ranks[0].params < last.params);
  assert.match(ev.err, /ranks above/);
  expectError(cli('eval', '--model', model, '--data', 'builtin:demo', '--ranks', '1,x'), /--ranks: expected positive integers/);

  const png = join(dir, 'rank1.png');
  const rd = cli('render', '--model', model, '--data', 'builtin:demo', '--view', '0', '--out', png, '--downscale', '8', '--rank', '1');
  assert.equal(rd.code, 0, rd.err);
  assert.equal(JSON.parse(rd.out.trim().split('\n').at(-1)!).rank, 1);
  expectError(cli('render', '--model', model, '--data', 'builtin:demo', '--view', '0', '--out', png, '--rank', '99'), /--rank 99: the model has/);

  // Export to scene files and evaluate them like models: fp32 reproduces the model's PSNR.
  const scene32 = join(dir, 'slim32.slimscene');
  const ex = cli('export', '--model', model, '--precision', 'fp32', '--out', scene32);
  assert.equal(ex.code, 0, ex.err);
  const exRes = JSON.parse(ex.out.trim().split('\n').at(-1)!);
  assert.equal(exRes.rank, res.rank);
  const ev32 = JSON.parse(cli('eval', '--model', scene32, '--data', 'builtin:demo', '--downscale', '8', '--test-views', '1').out.trim().split('\n').at(-1)!);
  assert.ok(Math.abs(ev32.psnr - evRes.psnr) < 1e-3, `fp32 scene ${ev32.psnr} vs model ${evRes.psnr}`);
  assert.equal(ev32.bytes, exRes.bytes);
  const scene8 = join(dir, 'slim8.slimscene');
  const ex8 = JSON.parse(cli('export', '--model', model, '--precision', 'int8', '--rank', '1', '--out', scene8).out.trim().split('\n').at(-1)!);
  assert.ok(ex8.bytes < exRes.bytes / 4, `int8 rank 1: ${ex8.bytes} bytes vs fp32 ${exRes.bytes}`);
  const ev8 = JSON.parse(cli('eval', '--model', scene8, '--data', 'builtin:demo', '--downscale', '8', '--test-views', '1').out.trim().split('\n').at(-1)!);
  assert.equal(ev8.rank, 1);
  expectError(cli('export', '--model', model, '--precision', 'fp8', '--out', scene8), /--precision must be one of fp32, fp16, int8/);
  // Compact: planes quantised by the training images' importance, streamable by rank; eval opens it like any scene.
  const sceneC = join(dir, 'slimc.slimscene');
  const exC = cli('export', '--model', model, '--precision', 'compact', '--data', 'builtin:demo', '--downscale', '8', '--out', sceneC);
  assert.equal(exC.code, 0, exC.err);
  const resC = JSON.parse(exC.out.trim().split('\n').at(-1)!);
  assert.equal(resC.precision, 'compact');
  assert.equal(resC.bytes, readFileSync(sceneC).length);
  assert.equal(resC.prefixBytes.length, res.rank, 'bytes for every rank prefix');
  assert.equal(resC.prefixBytes.at(-1), resC.bytes);
  assert.ok(
    resC.prefixBytes.every((b: number, i: number) => i === 0 || b >= resC.prefixBytes[i - 1]),
    `prefixes grow: ${resC.prefixBytes}`,
  );
  assert.ok(resC.texels.coded > 0 && resC.texels.kept > 0 && resC.texels.pruned > 0, JSON.stringify(resC.texels));
  // The quantised field is fine-tuned for a quarter of the recorded run (8 iterations: 2) by default.
  assert.equal(resC.finetuneIters, 2);
  assert.ok(resC.seconds.finetune > 0, JSON.stringify(resC.seconds));
  assert.ok(resC.bytes < exRes.bytes / 4, `compact ${resC.bytes} bytes vs fp32 ${exRes.bytes}`);
  const evC = JSON.parse(cli('eval', '--model', sceneC, '--data', 'builtin:demo', '--downscale', '8', '--test-views', '1').out.trim().split('\n').at(-1)!);
  assert.equal(evC.bytes, resC.bytes);
  assert.ok(evC.psnr > evRes.psnr - 3, `compact ${evC.psnr} dB vs the model's ${evRes.psnr}`);
  expectError(cli('export', '--model', model, '--precision', 'compact', '--out', sceneC), /--precision compact needs --data DIR/);
  expectError(cli('export', '--model', model, '--finetune-iters', '5', '--out', sceneC), /--finetune-iters and --batch apply to --precision compact only/);
  const cut = join(dir, 'cut.slimscene');
  writeFileSync(cut, readFileSync(scene32).subarray(0, 200));
  expectError(cli('eval', '--model', cut, '--data', 'builtin:demo'), /cut\.slimscene: .*truncated/);
});

test('train --checkpoint, Ctrl-C and --resume: the continued run saves the same model as one never interrupted', async () => {
  const cfg = join(dir, 'tiny-ckpt.json');
  writeFileSync(cfg, JSON.stringify({ N_voxel_init: 4096, N_voxel_final: 8000, upsamp_list: [5], update_AlphaMask_list: [8], featureC: 8, batch_size: 64 }));
  const base = ['--data', 'builtin:demo', '--downscale', '8', '--test-views', '1'];
  const whole = join(dir, 'whole.slim');
  const tw = cli('train', ...base, '--model', 'vm48', '--config', cfg, '--iters', '40', '--out', whole);
  assert.equal(tw.code, 0, tw.err);

  // Ctrl-C once the run is past iteration 10: it stops after the iteration, saves a checkpoint there.
  const ckpt = join(dir, 'run.slimckpt');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'train',
      ...base,
      '--model',
      'vm48',
      '--config',
      cfg,
      '--iters',
      '40',
      '--checkpoint',
      ckpt,
      '--checkpoint-every',
      '4',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    if (/iter 1\d\/40/.test(err) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  assert.equal(code, 0, err);
  const stopped = JSON.parse(out.trim().split('\n').at(-1)!);
  assert.match(stopped.partial, /^stopped after \d+ of 40 iterations$/);
  assert.ok(stopped.iters >= 10 && stopped.iters < 40 && stopped.checkpoints >= 3, `stopped at ${stopped.iters} after ${stopped.checkpoints} checkpoints`);
  assert.match(err, /checkpoint after iteration \d+: .* \(training waited \d+ ms, the write took \d+ ms\)/);

  const resumed = join(dir, 'resumed.slim');
  const tr = cli('train', '--resume', ckpt, ...base, '--out', resumed);
  assert.equal(tr.code, 0, tr.err);
  const res = JSON.parse(tr.out.trim().split('\n').at(-1)!);
  assert.equal(res.resumedFrom, stopped.iters);
  assert.equal(res.iters, 40);
  assert.match(tr.err, new RegExp(`continuing from iteration ${stopped.iters} of 40`));
  // The saved models hold the same tensors, bit for bit (their headers differ in timings).
  const a = decodeModel(new Uint8Array(readFileSync(whole)), 'whole');
  const b = decodeModel(new Uint8Array(readFileSync(resumed)), 'resumed');
  for (const [name, v] of a.values) assert.deepEqual(b.values.get(name), v, `${name} differs`);

  expectError(cli('train', '--resume', ckpt, ...base, '--iters', '50'), /--resume continues the saved run's own configuration: drop --iters/);
  expectError(
    cli('train', '--resume', ckpt, '--data', 'builtin:demo', '--downscale', '4'),
    /cannot continue this checkpoint here: it was made on "procedural" \(train 40 views of 16x16/,
  );
  const cut = join(dir, 'cut.slimckpt');
  writeFileSync(cut, readFileSync(ckpt).subarray(0, 3000));
  expectError(cli('train', '--resume', cut, ...base), /cut\.slimckpt: (truncated|the header describes)/);
});

test('poses on plain photos writes a capture that opens again; train --data on them poses first, beside the checkpoint, where --resume finds them', {
  timeout: 600_000,
}, async () => {
  const photos = join(dir, 'walk');
  mkdirSync(photos);
  for (const [name, bytes] of photoFiles(walkAround(8, 160))) writeFileSync(join(photos, name), bytes);
  writeFileSync(join(photos, 'broken.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  const out = join(dir, 'walk-posed');
  // Features and matches are kept by content: the train run below reads this run's back.
  process.env.SLIMFIELD_CACHE = join(dir, 'cache');
  const r = cli('poses', '--data', photos, '--fov', '40', '--out', out);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out.trim().split('\n').at(-1)!);
  assert.equal(res.images, 9);
  assert.equal(res.registered, 8, r.err);
  assert.deepEqual(
    res.unregistered.map((u: { file: string }) => u.file),
    ['broken.png'],
  );
  assert.match(res.unregistered[0].reason, /cannot be decoded/);
  assert.ok(res.points > 100 && res.reprojectionErrorPx < 1, `${res.points} points, ${res.reprojectionErrorPx} px`);
  assert.deepEqual(Object.keys(res.secondsByStage).sort(), ['features', 'geometry', 'mapping', 'matching']);
  assert.match(res.adapter, /./);
  // The photos under their own names, the model both ways, transforms.json: COLMAP's layout opens.
  assert.deepEqual(
    readdirSync(join(out, 'images')).sort(),
    readdirSync(photos)
      .filter((f) => f !== 'broken.png')
      .sort(),
  );
  assert.deepEqual(readdirSync(join(out, 'sparse/0')).sort(), ['cameras.bin', 'cameras.txt', 'images.bin', 'images.txt', 'points3D.bin', 'points3D.txt']);
  const colmapOnly = join(dir, 'walk-colmap');
  mkdirSync(colmapOnly);
  symlinkSync(join(out, 'images'), join(colmapOnly, 'images'));
  symlinkSync(join(out, 'sparse'), join(colmapOnly, 'sparse'));
  const ds = await openDataset(colmapOnly, 1, ['train'], 0);
  assert.equal(ds.format, 'colmap');
  assert.equal(ds.splits.train!.cameras.length, 8);
  assert.ok(ds.points && ds.points.xyz.length / 3 === res.points, 'the sparse points come along');

  // train --data on the photos: posed first (the focal length searched), into FILE.poses/.
  const ckpt = join(dir, 'walk.slimckpt');
  const cfg = tinyCaptureConfig();
  const tr = cli('train', '--data', photos, '--model', 'vm48', '--config', cfg, '--iters', '4', '--test-views', '1', '--checkpoint', ckpt);
  assert.equal(tr.code, 0, tr.err);
  assert.match(tr.err, /no poses in .*walk: computing camera poses from its photos \(structure from motion\), written to .*walk\.poses/);
  assert.match(tr.err, /note: no focal length|searched fields of view|placed 8 of 9 photos/);
  assert.match(tr.err, /read from the cache of an earlier run: the features of 8 of 8 photos and the matches of 28 of 28 pairs/);
  assert.ok(readdirSync(join(dir, 'walk.poses', 'sparse', '0')).includes('images.bin'));
  assert.match(tr.err, /note: the computed poses are refined with the field/);
  assert.ok(JSON.parse(tr.out.trim().split('\n').at(-1)!).poses, 'the run refined the poses and reports them');
  const resumed = cli('train', '--resume', ckpt, '--data', photos, '--test-views', '1');
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /using the camera poses computed before, in .*walk\.poses/);
  expectError(cli('poses', '--data', join(dir, 'walk-colmap', 'images'), '--max-images', '2', '--out', join(dir, 'x')), /needs at least 3 different photos/);
  expectError(cli('poses', '--data', photos, '--fov', '200', '--out', join(dir, 'x')), /--fov must be a field of view in degrees/);
});
