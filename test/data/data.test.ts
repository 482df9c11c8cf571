import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { downscaleRGBA } from '../../src/data/downscale.ts';
import { decodeImageNode, encodePng } from '../../src/data/image-node.ts';
import { inputLimits } from '../../src/data/input-limits.ts';
import { type LoadOptions, loadDataset } from '../../src/data/load.ts';
import { nodeFolderSource } from '../../src/data/node-source.ts';
import { mapSource, normalizePath, zipSource } from '../../src/data/sources.ts';
import { DatasetError, type FileSource } from '../../src/data/types.ts';

const LEGO = '/work/shared/data/lego';
const FOX = '/work/shared/data/fox';
const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Helpers to build tiny synthetic datasets

/** A deterministic w x h RGBA image whose pixels depend on `seed`. */
function testImage(w: number, h: number, seed = 0): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 101) % 256;
  return data;
}

function png(w: number, h: number, seed = 0): Uint8Array {
  return encodePng(testImage(w, h, seed), w, h);
}

/** A 4x4 OpenGL c2w looking at the origin from distance 4 on +z, rotated about y by `angle`. */
function pose(angle: number): number[][] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [
    [c, 0, s, 4 * s],
    [0, 1, 0, 0],
    [-s, 0, c, 4 * c],
    [0, 0, 0, 1],
  ];
}

/** Files of a 2-frame Blender dataset (8x8 PNGs); `edit` may tweak the json or files. */
function blenderFiles(edit?: (json: Record<string, unknown>, files: Map<string, Uint8Array>) => void): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const json: Record<string, unknown> = {
    camera_angle_x: 0.69,
    frames: [0, 1].map((i) => ({ file_path: `./train/r_${i}`, rotation: 0.0, transform_matrix: pose(i * 0.5) })),
  };
  files.set('train/r_0.png', png(8, 8, 0));
  files.set('train/r_1.png', png(8, 8, 1));
  edit?.(json, files);
  if (!files.has('transforms_train.json')) files.set('transforms_train.json', enc.encode(JSON.stringify(json)));
  return files;
}

/** Writes a file map into a fresh temporary folder; returns the folder. */
async function writeTree(files: Map<string, Uint8Array>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slimfield-data-'));
  for (const [path, bytes] of files) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, bytes);
  }
  return dir;
}

/** Generous limits (8 GiB of memory): the hostile-input tests set their own. */
const LIMITS = inputLimits(8 * 2 ** 30, 'in this test');

const opts = (extra: Partial<LoadOptions> = {}): LoadOptions => ({ decode: decodeImageNode, limits: LIMITS, ...extra });

/** Asserts that loading rejects with a DatasetError whose message contains every fragment. */
async function expectDatasetError(src: FileSource, fragments: string[], extra: Partial<LoadOptions> = {}): Promise<void> {
  await assert.rejects(loadDataset(src, opts(extra)), (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected DatasetError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    assert.equal(e.message, `${e.file}: ${e.problem}`);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Real datasets

test('lego: train+test at downscale 8', async () => {
  let progressCalls = 0;
  let lastProgress: [number, number] = [0, 0];
  const ds = await loadDataset(nodeFolderSource(LEGO, LIMITS), {
    decode: decodeImageNode,
    downscale: 8,
    splits: ['train', 'test'],
    maxImages: 3,
    limits: LIMITS,
    onProgress: (done, total) => {
      progressCalls++;
      lastProgress = [done, total];
    },
  });
  assert.equal(ds.format, 'blender');
  assert.equal(ds.name, 'lego');
  assert.equal(ds.whiteBackground, true);
  assert.deepEqual(ds.nearFar, [2, 6]);
  assert.deepEqual(ds.aabb, [
    [-1.5, -1.5, -1.5],
    [1.5, 1.5, 1.5],
  ]);
  assert.deepEqual(ds.warnings, []);
  assert.equal(ds.splits.val, undefined);
  assert.equal(progressCalls, 6);
  assert.deepEqual(lastProgress, [6, 6]);

  const train = ds.splits.train!;
  const testSplit = ds.splits.test!;
  for (const split of [train, testSplit]) {
    assert.equal(split.width, 100);
    assert.equal(split.height, 100);
    assert.equal(split.images.length, 3);
    assert.equal(split.cameras.length, 3);
    for (const img of split.images) assert.equal(img.length, 100 * 100 * 4);
    for (const cam of split.cameras) {
      assert.equal(cam.width, 100);
      assert.equal(cam.height, 100);
      assert.ok(Math.abs(cam.fx - 1111.1110311937682 / 8) < 1e-3, `fx ${cam.fx}`);
      assert.equal(cam.fx, cam.fy);
      assert.equal(cam.cx, 50);
      assert.equal(cam.cy, 50);
      assert.equal(cam.distortion, undefined);
    }
  }
  // Evenly spaced, first frame kept.
  assert.deepEqual(train.names, ['train/r_0.png', 'train/r_33.png', 'train/r_66.png']);
  // Alpha is kept (transparent background, opaque object).
  const alpha = new Set<number>();
  for (let i = 3; i < train.images[0].length; i += 4) alpha.add(train.images[0][i]);
  assert.ok(alpha.has(0) && alpha.has(255));

  // Pose of frame 0: OpenCV c2w = OpenGL c2w · diag(1,-1,-1).
  const json = JSON.parse(await readFile(join(LEGO, 'transforms_train.json'), 'utf8'));
  const gl: number[][] = json.frames[0].transform_matrix;
  const c2w = train.cameras[0].c2w;
  assert.equal(c2w.length, 12);
  for (let r = 0; r < 3; r++) {
    assert.equal(c2w[r * 4 + 0], gl[r][0]);
    assert.equal(c2w[r * 4 + 1], -gl[r][1]);
    assert.equal(c2w[r * 4 + 2], -gl[r][2]); // OpenCV z (forward) = -(OpenGL z column)
    assert.equal(c2w[r * 4 + 3], gl[r][3]);
  }
  // Sanity: the lego cameras look towards the origin, so forward · (origin - centre) > 0.
  const centre = [c2w[3], c2w[7], c2w[11]];
  const fwd = [c2w[2], c2w[6], c2w[10]];
  assert.ok(-(fwd[0] * centre[0] + fwd[1] * centre[1] + fwd[2] * centre[2]) > 0);
});

test('fox: instant-ngp at downscale 8 skips frames with missing images', async () => {
  const ds = await loadDataset(nodeFolderSource(FOX, LIMITS), opts({ downscale: 8 }));
  assert.equal(ds.format, 'instant-ngp');
  assert.equal(ds.name, 'fox');
  assert.equal(ds.whiteBackground, false);
  assert.deepEqual(ds.nearFar, [0.05, 100]);
  // No test split in the file: every 8th present frame is held out (the LLFF protocol).
  assert.deepEqual(Object.keys(ds.splits), ['train', 'test']);
  const train = ds.splits.train!;
  const held = ds.splits.test!;
  assert.equal(train.images.length, 43);
  assert.equal(held.cameras.length, 7);
  assert.equal(train.width, 135);
  assert.equal(train.height, 240);
  const cam = train.cameras[0];
  assert.ok(Math.abs(cam.fx - 1375.52 / 8) < 1e-9);
  assert.ok(Math.abs(cam.fy - 1374.49 / 8) < 1e-9);
  assert.ok(Math.abs(cam.cx - 554.558 / 8) < 1e-9);
  assert.ok(Math.abs(cam.cy - 965.268 / 8) < 1e-9);
  assert.deepEqual(cam.distortion, { k1: 0.0578421, k2: -0.0805099, p1: -0.000980296, p2: 0.00015575 });
  assert.equal(ds.warnings.length, 1);
  assert.match(ds.warnings[0], /transforms\.json: skipped 17 of 67 frames/);
  assert.ok(ds.warnings[0].includes('images/0005.jpg'));
  assert.ok(!train.names.includes('images/0005.jpg'));
  assert.equal(held.names[0], 'images/0001.jpg');
  assert.ok(train.names.includes('images/0002.jpg'));
});

// ---------------------------------------------------------------------------------------------
// Synthetic datasets: happy paths

test('tiny blender dataset from a temporary folder', async () => {
  const dir = await writeTree(blenderFiles());
  try {
    const ds = await loadDataset(nodeFolderSource(dir, LIMITS), opts({ downscale: 2 }));
    const train = ds.splits.train!;
    assert.deepEqual(train.names, ['train/r_0.png', 'train/r_1.png']);
    assert.equal(train.width, 4);
    const f = (0.5 * 8) / Math.tan(0.5 * 0.69);
    assert.ok(Math.abs(train.cameras[0].fx - f / 2) < 1e-12);
    assert.deepEqual(train.images[1], downscaleRGBA(testImage(8, 8, 1), 8, 8, 2).data);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('zip source: a 2-frame blender dataset wrapped in a top-level folder', async () => {
  const entries: Record<string, Uint8Array> = {};
  for (const [path, bytes] of blenderFiles()) entries[`mini/${path}`] = bytes;
  entries['__MACOSX/mini/._r_0.png'] = new Uint8Array([1, 2, 3]);
  const zip = zipSync(entries);
  const ds = await loadDataset(zipSource(zip, 'mini.zip', LIMITS), opts());
  assert.equal(ds.name, 'mini');
  const train = ds.splits.train!;
  assert.deepEqual(train.names, ['train/r_0.png', 'train/r_1.png']);
  assert.equal(train.width, 8);
  assert.equal(train.height, 8);
  assert.deepEqual(train.images[0], testImage(8, 8, 0));
  assert.deepEqual(train.images[1], testImage(8, 8, 1));
  // Frame 1 is rotated 0.5 rad about y; OpenCV z column = -(OpenGL z column).
  const c2w = train.cameras[1].c2w;
  assert.ok(Math.abs(c2w[2] + Math.sin(0.5)) < 1e-12);
  assert.ok(Math.abs(c2w[10] + Math.cos(0.5)) < 1e-12);
  assert.ok(Math.abs(c2w[5] + 1) < 1e-12); // OpenCV y = -(OpenGL y)

  // Without a wrapping folder the zip root is the dataset root; backslash names are normalised.
  const flat: Record<string, Uint8Array> = {};
  for (const [path, bytes] of blenderFiles()) flat[path.replace('/', '\\')] = bytes;
  const ds2 = await loadDataset(zipSource(zipSync(flat), 'flat.zip', LIMITS), opts());
  assert.equal(ds2.splits.train!.images.length, 2);

  assert.throws(() => zipSource(new Uint8Array([1, 2, 3, 4]), 'junk.zip', LIMITS), /junk\.zip: not a readable zip/);
});

test('normalizePath', () => {
  assert.equal(normalizePath('./train/r_0.png'), 'train/r_0.png');
  assert.equal(normalizePath('.\\images\\a.jpg'), 'images/a.jpg');
  assert.equal(normalizePath('a/./b/../c'), 'a/c');
  assert.equal(normalizePath('/x//y/'), 'x/y');
});

test('instant-ngp / nerfstudio: per-frame overrides, fallbacks, extensionless paths, skipped frames', async () => {
  const files = new Map<string, Uint8Array>();
  files.set('images/a.png', png(10, 6, 0));
  files.set('images/b.png', png(10, 6, 1));
  files.set('images/c.png', png(10, 6, 2));
  const json = {
    camera_angle_x: 1.0,
    frames: [
      { file_path: 'images/a.png', transform_matrix: pose(0) },
      // nerfstudio-style per-frame intrinsics; a 3x4 matrix is accepted too
      { file_path: './images/b.png', fl_x: 7, fl_y: 8, cx: 4.5, cy: 3.5, w: 10, h: 6, k1: 0.1, transform_matrix: pose(0.2).slice(0, 3) },
      { file_path: 'images/c', transform_matrix: pose(0.4) },
      { file_path: 'images/gone.png', transform_matrix: pose(0.6) },
    ],
  };
  files.set('transforms.json', enc.encode(JSON.stringify(json)));
  const ds = await loadDataset(mapSource(files, 'ngp-mini'), opts({ splits: ['train', 'val'], holdOut: 0 }));
  const train = ds.splits.train!;
  assert.deepEqual(train.names, ['images/a.png', 'images/b.png', 'images/c.png']);
  assert.equal(ds.splits.test, undefined, 'holdOut 0 trains on every view');
  const [a, b] = train.cameras;
  // Only camera_angle_x given: fx from it, fy = fx, principal point at the centre.
  const f = (0.5 * 10) / Math.tan(0.5);
  assert.ok(Math.abs(a.fx - f) < 1e-12 && a.fy === a.fx);
  assert.equal(a.cx, 5);
  assert.equal(a.cy, 3);
  assert.equal(a.distortion, undefined);
  assert.deepEqual([b.fx, b.fy, b.cx, b.cy], [7, 8, 4.5, 3.5]);
  assert.deepEqual(b.distortion, { k1: 0.1, k2: 0, p1: 0, p2: 0 });
  assert.equal(ds.warnings.length, 2);
  assert.ok(ds.warnings.some((w) => w.includes('no val split')));
  assert.ok(ds.warnings.some((w) => w.includes('skipped 1 of 4 frames') && w.includes('images/gone.png')));
});

test('instant-ngp scale and offset set the box; nerfstudio OPENCV_FISHEYE is a fisheye lens; models and terms it cannot undistort are refused by name', async () => {
  const files = (extra: Record<string, unknown>, frameExtra: Record<string, unknown> = {}) =>
    new Map([
      ['a.png', png(8, 8, 0)],
      ['transforms.json', enc.encode(JSON.stringify({ fl_x: 8, ...extra, frames: [{ file_path: 'a.png', transform_matrix: pose(0), ...frameExtra }] }))],
    ]);
  const ds = await loadDataset(mapSource(files({ scale: 0.25, offset: [0.5, 0.25, 0] }), 'ngp'), opts());
  assert.deepEqual(ds.aabb, [
    [-2, -1, -0],
    [2, 3, 4],
  ]);
  const plain = await loadDataset(mapSource(files({ camera_model: 'OPENCV', k1: 0.1 }), 'ngp'), opts());
  assert.deepEqual(plain.aabb[1], [1.5, 1.5, 1.5]);
  assert.deepEqual(plain.splits.train!.cameras[0]!.distortion, { k1: 0.1, k2: 0, p1: 0, p2: 0 });
  const fish = await loadDataset(mapSource(files({ camera_model: 'OPENCV_FISHEYE', k1: 0.1, k2: 0.01, k4: 0.001 }), 'ngp'), opts());
  assert.deepEqual(fish.splits.train!.cameras[0]!.fisheye, { k1: 0.1, k2: 0.01, k3: 0, k4: 0.001 });
  assert.equal(fish.splits.train!.cameras[0]!.distortion, undefined);
  const k3 = await loadDataset(mapSource(files({}, { k1: 0.1, k3: 0.02 }), 'ngp'), opts());
  assert.deepEqual(k3.splits.train!.cameras[0]!.distortion, { k1: 0.1, k2: 0, p1: 0, p2: 0, k3: 0.02 });
  await expectDatasetError(mapSource(files({ camera_model: 'EQUIRECTANGULAR' }), 'ngp'), [
    'ngp/transforms.json',
    'frame 0 uses camera_model "EQUIRECTANGULAR", which Slimfield cannot undistort yet',
  ]);
  await expectDatasetError(mapSource(files({}, { k4: 0.02 }), 'ngp'), ["'k4' at frame 0 is 0.02", 'k1, k2, k3, p1 and p2']);
  await expectDatasetError(mapSource(files({ offset: [0.5, 0.5] }), 'ngp'), ["'offset' at top level must be a list of three finite numbers"]);
});

test("nerfstudio's mask_path masks a frame; a missing mask is named", async () => {
  const mask = new Uint8Array(8 * 8 * 4).fill(255);
  mask.fill(0, 0, 8 * 4); // the first row is masked out
  const files = new Map([
    ['a.png', png(8, 8, 0)],
    ['masks/a.png', encodePng(mask, 8, 8)],
    ['transforms.json', enc.encode(JSON.stringify({ fl_x: 8, frames: [{ file_path: 'a.png', mask_path: 'masks/a.png', transform_matrix: pose(0) }] }))],
  ]);
  const ds = await loadDataset(mapSource(files, 'ns'), opts());
  assert.equal(ds.masked, true);
  const img = ds.splits.train!.images[0]!;
  assert.deepEqual([img[3], img[8 * 4 + 3]], [0, testImage(8, 8, 0)[8 * 4 + 3]]);
  files.delete('masks/a.png');
  await expectDatasetError(mapSource(files, 'ns'), ['ns/masks/a.png', "mask not found (listed as frame 0's mask_path in ns/transforms.json)"]);
});

test('maxImages picks evenly spaced frames', async () => {
  const files = blenderFiles((json, fs) => {
    json.frames = [0, 1, 2, 3, 4, 5].map((i) => ({ file_path: `./train/r_${i}`, transform_matrix: pose(i) }));
    for (let i = 0; i < 6; i++) fs.set(`train/r_${i}.png`, png(8, 8, i));
  });
  const ds = await loadDataset(mapSource(files, 'six'), opts({ maxImages: 3 }));
  assert.deepEqual(ds.splits.train!.names, ['train/r_0.png', 'train/r_2.png', 'train/r_4.png']);
});

// ---------------------------------------------------------------------------------------------
// Bad inputs

test('error: no transforms file', async () => {
  const files = new Map([['readme.txt', enc.encode('hi')]]);
  await expectDatasetError(mapSource(files, 'empty-drop'), [
    'empty-drop',
    'no transforms_train.json, transforms.json, poses_bounds.npy or COLMAP sparse model',
  ]);
});

test('error: broken JSON', async () => {
  const files = blenderFiles((_, fs) => fs.set('transforms_train.json', enc.encode('{"camera_angle_x": 0.7, "frames": [')));
  await expectDatasetError(mapSource(files, 'ds'), ['ds/transforms_train.json', 'invalid JSON (']);
});

test('error: missing keys', async () => {
  await expectDatasetError(
    mapSource(
      blenderFiles((json) => delete json.camera_angle_x),
      'ds',
    ),
    ['transforms_train.json', "missing required key 'camera_angle_x'"],
  );
  await expectDatasetError(
    mapSource(
      blenderFiles((json) => delete (json.frames as Record<string, unknown>[])[1].transform_matrix),
      'ds',
    ),
    ['transforms_train.json', "frame 1 (./train/r_1) is missing required key 'transform_matrix'"],
  );
  await expectDatasetError(
    mapSource(
      blenderFiles((json) => delete (json.frames as Record<string, unknown>[])[0].file_path),
      'ds',
    ),
    ['transforms_train.json', "frame 0 is missing required key 'file_path'"],
  );
  const ngp = new Map([
    ['transforms.json', enc.encode(JSON.stringify({ frames: [{ file_path: 'a.png', transform_matrix: pose(0) }] }))],
    ['a.png', png(4, 4)],
  ]);
  await expectDatasetError(mapSource(ngp, 'ngp'), ['ngp/transforms.json', 'frame 0', "missing required key 'fl_x'"]);
});

test('error: missing image in a blender split (temporary folder)', async () => {
  const dir = await writeTree(blenderFiles((_, fs) => fs.delete('train/r_1.png')));
  try {
    await expectDatasetError(nodeFolderSource(dir, LIMITS), [join(dir, 'train/r_1.png'), 'image not found', 'frame 1']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('error: instant-ngp with no images at all', async () => {
  const files = new Map([['transforms.json', enc.encode(JSON.stringify({ fl_x: 5, frames: [{ file_path: 'a.jpg', transform_matrix: pose(0) }] }))]]);
  await expectDatasetError(mapSource(files, 'ngp'), ['transforms.json', 'none of the 1 images', 'a.jpg']);
});

test('image sizes: a split may mix them (each camera keeps its own); a size that contradicts the declared w, h is refused', async () => {
  const files = blenderFiles((_, fs) => fs.set('train/r_1.png', png(6, 5)));
  const mixed = await loadDataset(mapSource(files, 'ds'), opts());
  const cams = mixed.splits.train!.cameras;
  assert.deepEqual([cams[0]!.width, cams[0]!.height, cams[1]!.width, cams[1]!.height], [8, 8, 6, 5]);
  assert.equal(mixed.splits.train!.images[1]!.length, 6 * 5 * 4);

  const ngp = new Map([
    ['transforms.json', enc.encode(JSON.stringify({ fl_x: 5, w: 8, h: 4, frames: [{ file_path: 'a.png', transform_matrix: pose(0) }] }))],
    ['a.png', png(4, 8)],
  ]);
  await expectDatasetError(mapSource(ngp, 'ngp'), ['ngp/a.png', 'image is 4x8', 'declares w=8, h=4']);
});

test('error: non-finite and malformed poses', async () => {
  // JSON cannot spell NaN/Infinity; 1e999 overflows to Infinity and NaN round-trips as null.
  const sentinel = blenderFiles((json) => ((json.frames as { transform_matrix: number[][] }[])[1].transform_matrix[0][3] = 12345.5));
  const text = new TextDecoder().decode(sentinel.get('transforms_train.json')!).replace('12345.5', '1e999');
  const inf = blenderFiles((_, fs) => fs.set('transforms_train.json', enc.encode(text)));
  await expectDatasetError(mapSource(inf, 'ds'), ['transforms_train.json', 'frame 1 (./train/r_1) has a non-finite transform_matrix', '[0][3] is Infinity']);

  const nul = blenderFiles((json) => ((json.frames as { transform_matrix: unknown[][] }[])[0].transform_matrix[1][3] = null));
  await expectDatasetError(mapSource(nul, 'ds'), ['frame 0 (./train/r_0) has a non-finite transform_matrix', '[1][3] is null']);

  const shape = blenderFiles((json) => ((json.frames as { transform_matrix: unknown }[])[1].transform_matrix = [[1, 0, 0]]));
  await expectDatasetError(mapSource(shape, 'ds'), ['frame 1 (./train/r_1)', 'not a 4x4 (or 3x4)']);

  const scaled = blenderFiles((json) => {
    const m = (json.frames as { transform_matrix: number[][] }[])[0].transform_matrix;
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) m[r][c] *= 2;
  });
  await expectDatasetError(mapSource(scaled, 'ds'), ['frame 0 (./train/r_0)', 'not orthonormal']);

  const mirrored = blenderFiles((json) => {
    const m = (json.frames as { transform_matrix: number[][] }[])[0].transform_matrix;
    for (let r = 0; r < 3; r++) m[r][0] = -m[r][0];
  });
  await expectDatasetError(mapSource(mirrored, 'ds'), ['frame 0 (./train/r_0)', 'reflection']);
});

test('a camera 1e38 units from the scene is named in a warning; the rest load without one', async () => {
  const plain = await loadDataset(mapSource(blenderFiles(), 'ds'), opts());
  assert.deepEqual(plain.warnings, []);
  const far = blenderFiles((json) => ((json.frames as { transform_matrix: number[][] }[])[1].transform_matrix[2][3] = 1e38));
  const ds = await loadDataset(mapSource(far, 'ds'), opts());
  assert.equal(ds.warnings.length, 1);
  assert.match(ds.warnings[0]!, /^train\/r_1\.png: its camera is at .*1\.00e\+38, over 100 scene sizes from the scene; check its pose/);
});

test('error: bad focal / size values', async () => {
  await expectDatasetError(
    mapSource(
      blenderFiles((json) => (json.camera_angle_x = -1)),
      'ds',
    ),
    ['transforms_train.json', "'camera_angle_x'", 'got -1'],
  );
  await expectDatasetError(
    mapSource(
      blenderFiles((json) => (json.camera_angle_x = 'wide')),
      'ds',
    ),
    ['transforms_train.json', 'must be a finite number', '"wide"'],
  );
  const ngp = new Map([
    ['transforms.json', enc.encode(JSON.stringify({ fl_x: 5, frames: [{ file_path: 'a.png', fl_x: 0, transform_matrix: pose(0) }] }))],
    ['a.png', png(4, 4)],
  ]);
  await expectDatasetError(mapSource(ngp, 'ngp'), ['ngp/transforms.json', "'fl_x' at frame 0 must be a positive finite number, got 0"]);
});

test('error: undecodable image', async () => {
  const garbage = blenderFiles((_, fs) => fs.set('train/r_0.png', enc.encode('this is not an image')));
  await expectDatasetError(mapSource(garbage, 'ds'), ['ds/train/r_0.png', 'cannot decode image', 'not a PNG, JPEG, WebP or HEIC']);
  const truncated = blenderFiles((_, fs) => fs.set('train/r_1.png', fs.get('train/r_1.png')!.subarray(0, 40)));
  await expectDatasetError(mapSource(truncated, 'ds'), ['ds/train/r_1.png', 'cannot decode PNG']);
  const badJpeg = blenderFiles((_, fs) => fs.set('train/r_1.png', new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0, 1, 2])));
  await expectDatasetError(mapSource(badJpeg, 'ds'), ['ds/train/r_1.png', 'cannot decode JPEG']);
});

test('error: bad downscale', async () => {
  const src = mapSource(blenderFiles(), 'ds');
  await expectDatasetError(src, ['ds', 'downscale must be a positive integer', 'got 0'], { downscale: 0 });
  await expectDatasetError(src, ['ds', 'downscale must be a positive integer', 'got 1.5'], { downscale: 1.5 });
  await expectDatasetError(src, ['ds/train/r_0.png', 'downscale 16 is larger than the image (8x8)'], { downscale: 16 });
});

// ---------------------------------------------------------------------------------------------
// Image helpers

test('downscaleRGBA on a hand-made 4x4 image', () => {
  // Pixel (x, y) has RGBA = (x + 4y, 10x, 10y, 255 - x - y) scaled a bit.
  const data = new Uint8Array(4 * 4 * 4);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) {
      const i = (y * 4 + x) * 4;
      data.set([x + 4 * y, 10 * x, 10 * y, 255 - x - y], i);
    }
  }
  const out = downscaleRGBA(data, 4, 4, 2);
  assert.equal(out.width, 2);
  assert.equal(out.height, 2);
  // Block (0,0): x,y in {0,1}. R = mean(0,1,4,5) = 2.5 -> 3 (round half up); G = mean(0,10,0,10) = 5;
  // B = 5; A = mean(255,254,254,253) = 254.
  assert.deepEqual(Array.from(out.data.subarray(0, 4)), [3, 5, 5, 254]);
  // Block (1,0): x in {2,3}, y in {0,1}: R = mean(2,3,6,7) = 4.5 -> 5; G = 25; B = 5; A = mean(253,252,252,251) = 252.
  assert.deepEqual(Array.from(out.data.subarray(4, 8)), [5, 25, 5, 252]);
  // Block (0,1): R = mean(8,9,12,13) = 10.5 -> 11; G = 5; B = 25; A = 252.
  assert.deepEqual(Array.from(out.data.subarray(8, 12)), [11, 5, 25, 252]);
  // Block (1,1): R = mean(10,11,14,15) = 12.5 -> 13; G = 25; B = 25; A = 250.
  assert.deepEqual(Array.from(out.data.subarray(12, 16)), [13, 25, 25, 250]);

  // k = 3 crops to 1x1 and averages the top-left 3x3 block only.
  const one = downscaleRGBA(data, 4, 4, 3);
  assert.equal(one.width, 1);
  assert.equal(one.height, 1);
  // R = mean(0,1,2,4,5,6,8,9,10) = 5; G = mean(0,10,20 x3) = 10; B = 10; A = mean(255 - (x+y)) = 253.
  assert.deepEqual(Array.from(one.data), [5, 10, 10, 253]);

  // k = 1 is the identity.
  assert.equal(downscaleRGBA(data, 4, 4, 1).data, data);
});

// Minimal PNG writer for colour types / bit depths that pngjs cannot write (palette, 16-bit).
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(enc.encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
function rawPng(w: number, h: number, depth: number, colorType: number, rows: Uint8Array[], extra: Uint8Array[] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  const raw = new Uint8Array(rows.reduce((n, r) => n + 1 + r.length, 0));
  let o = 0;
  for (const r of rows) {
    raw[o++] = 0; // filter: none
    raw.set(r, o);
    o += r.length;
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test('decodeImageNode: PNG colour types and bit depths to RGBA8, JPEG', async () => {
  const rgba = testImage(3, 2, 5);
  const rgbaDec = await decodeImageNode(encodePng(rgba, 3, 2), 'x.png');
  assert.deepEqual([rgbaDec.width, rgbaDec.height], [3, 2]);
  assert.deepEqual(rgbaDec.data, rgba);

  const grey = await decodeImageNode(rawPng(2, 1, 8, 0, [new Uint8Array([7, 200])]), 'grey.png');
  assert.deepEqual(Array.from(grey.data), [7, 7, 7, 255, 200, 200, 200, 255]);

  const rgb = await decodeImageNode(rawPng(2, 1, 8, 2, [new Uint8Array([1, 2, 3, 4, 5, 6])]), 'rgb.png');
  assert.deepEqual(Array.from(rgb.data), [1, 2, 3, 255, 4, 5, 6, 255]);

  // Palette with a tRNS entry making index 1 half transparent.
  const pal = await decodeImageNode(
    rawPng(2, 1, 8, 3, [new Uint8Array([1, 0])], [chunk('PLTE', new Uint8Array([10, 20, 30, 40, 50, 60])), chunk('tRNS', new Uint8Array([255, 128]))]),
    'pal.png',
  );
  assert.deepEqual(Array.from(pal.data), [40, 50, 60, 128, 10, 20, 30, 255]);

  // 16-bit RGB: 0xFFFF -> 255, 0x8080 -> 128, 0 -> 0.
  const deep = await decodeImageNode(rawPng(1, 1, 16, 2, [new Uint8Array([0xff, 0xff, 0x80, 0x80, 0, 0])]), 'deep.png');
  assert.deepEqual(Array.from(deep.data), [255, 128, 0, 255]);

  // JPEG chosen by magic bytes even with a misleading extension.
  const jpg = await readFile(join(FOX, 'images/0001.jpg'));
  const dec = await decodeImageNode(new Uint8Array(jpg), 'misnamed.png');
  assert.deepEqual([dec.width, dec.height, dec.data.length], [1080, 1920, 1080 * 1920 * 4]);
  assert.equal(dec.data[3], 255);
});
