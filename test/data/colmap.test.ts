// COLMAP input: sparse models written by test/fixtures/colmap.ts from the procedural scene's known
// cameras, placed in a world turned, scaled and moved away from ours, read back in binary and
// text, from sparse/N folders, subfolders, pre-downscaled image folders and a zip; every camera
// model; and hostile files, each refused naming the file and the record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { decodeImageNode, encodePng } from '../../src/data/image-node.ts';
import { inputLimits } from '../../src/data/input-limits.ts';
import { type LoadOptions, loadDataset } from '../../src/data/load.ts';
import { nodeFolderSource } from '../../src/data/node-source.ts';
import { proceduralDataset, renderProcedural } from '../../src/data/procedural.ts';
import { mapSource, zipSource } from '../../src/data/sources.ts';
import { type Dataset, DatasetError, type FileSource, type PosedView } from '../../src/data/types.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { TrainingRun } from '../../src/run/training-run.ts';
import { resolveConfig } from '../../src/train/config.ts';
import { type FixtureModel, imagePose, modelFiles, modelOf, modelText, ngpAsColmap } from '../fixtures/colmap.ts';
import { apply, assertSameRig } from '../fixtures/rig.ts';

const LIMITS = inputLimits(8 * 2 ** 30, 'in this test');
const opts = (extra: Partial<LoadOptions> = {}): LoadOptions => ({ decode: decodeImageNode, limits: LIMITS, ...extra });
const enc = new TextEncoder();

// The procedural scene's cameras (OpenCV c2w, z up) in a world turned by 0.7 rad about (1, 2, 3),
// scaled by 3.7 and moved by (5, -2, 8): the loader must undo it up to a similarity.
const SCENE = proceduralDataset({ size: 12, train: 16, test: 1 }).splits.train!;
const AXIS = [1, 2, 3].map((v) => v / Math.hypot(1, 2, 3));
const TURN = rotationAbout(AXIS, 0.7);
const SCALE = 3.7;
const MOVE = [5, -2, 8];

function rotationAbout([x, y, z]: number[], a: number): number[] {
  const c = Math.cos(a);
  const s = Math.sin(a);
  const t = 1 - c;
  return [
    t * x! * x! + c,
    t * x! * y! - s * z!,
    t * x! * z! + s * y!,
    t * x! * y! + s * z!,
    t * y! * y! + c,
    t * y! * z! - s * x!,
    t * x! * z! - s * y!,
    t * y! * z! + s * x!,
    t * z! * z! + c,
  ];
}
const place = (p: ArrayLike<number>) => apply(TURN, p).map((v, i) => SCALE * v + MOVE[i]!);

function moved(cam: PosedView): PosedView {
  const c2w = new Float64Array(12);
  for (let col = 0; col < 3; col++) {
    const v = apply(TURN, [cam.c2w[col]!, cam.c2w[4 + col]!, cam.c2w[8 + col]!]);
    for (let r = 0; r < 3; r++) c2w[r * 4 + col] = v[r]!;
  }
  const centre = place([cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!]);
  for (let r = 0; r < 3; r++) c2w[r * 4 + 3] = centre[r]!;
  return { ...cam, c2w };
}

/** 400 points in the unit ball around the object, and three strays far off (which must not set the box). */
function scenePoints(): FixtureModel['points'] {
  const xyz: number[] = [];
  let s = 7;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  while (xyz.length < 400 * 3) {
    const p = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1];
    if (Math.hypot(...p) <= 1) xyz.push(...place(p));
  }
  for (const far of [
    [300, 0, 0],
    [0, -500, 20],
    [40, 40, 900],
  ])
    xyz.push(...place(far));
  return { xyz, rgb: xyz.map((_, i) => (i * 53) % 256) };
}

const NAME = (i: number) => `sub/view_${String(i).padStart(2, '0')}.png`;
const MODEL = modelOf(SCENE.cameras.map(moved), NAME, scenePoints());

function imageFiles(folder = 'images/'): Map<string, Uint8Array> {
  return new Map(SCENE.images.map((img, i) => [`${folder}${NAME(i)}`, encodePng(img, SCENE.width, SCENE.height)]));
}

function capture(dir = 'sparse/0/', kind: 'bin' | 'txt' = 'bin', model = MODEL): Map<string, Uint8Array> {
  return new Map([...modelFiles(model, dir, kind), ...imageFiles()]);
}

const load = (files: Map<string, Uint8Array>, extra: Partial<LoadOptions> = {}) => loadDataset(mapSource(files, 'capture'), opts(extra));

/** Asserts the loaded cameras (both splits) are the scene's up to one similarity, with their intrinsics. */
function assertSceneRig(ds: Dataset, names: string[]): void {
  const loaded = [...(ds.splits.train?.cameras ?? []), ...(ds.splits.test?.cameras ?? [])];
  const loadedNames = [...(ds.splits.train?.names ?? []), ...(ds.splits.test?.names ?? [])];
  assertSameRig(loaded, loadedNames, (n) => SCENE.cameras[names.indexOf(n)]!);
}

test('a binary COLMAP model in sparse/0: cameras up to a similarity, up is +z, images from subfolders, every 8th held out, the box from the points', async () => {
  const ds = await load(capture());
  assert.equal(ds.format, 'colmap');
  assert.equal(ds.name, 'capture');
  assert.equal(ds.whiteBackground, false);
  const names = SCENE.cameras.map((_, i) => `images/${NAME(i)}`);
  assert.deepEqual(ds.splits.test!.names, [names[0], names[8]]);
  assert.equal(ds.splits.train!.names.length, 14);
  assertSceneRig(ds, names);
  // Pixels come through unchanged, each with its own camera.
  ds.splits.train!.names.forEach((n, i) => {
    assert.deepEqual(ds.splits.train!.images[i], SCENE.images[names.indexOf(n)]);
  });
  // The cameras' mean up (their -y axis) is the world's +z.
  const cams = [...ds.splits.train!.cameras, ...ds.splits.test!.cameras];
  const up = cams.reduce((s, c) => [s[0]! - c.c2w[1]!, s[1]! - c.c2w[5]!, s[2]! - c.c2w[9]!], [0, 0, 0]);
  const len = Math.hypot(...up);
  assert.ok(Math.abs(up[0]! / len) < 1e-9 && Math.abs(up[1]! / len) < 1e-9 && up[2]! / len > 1 - 1e-9, `mean up ${up.map((v) => (v / len).toFixed(6))}`);
  // The box holds the ball of points (the strays at 300 to 900 units do not stretch it) and spans 1.5 at most, padded.
  const [lo, hi] = ds.aabb;
  const half = [0, 1, 2].map((k) => (hi[k]! - lo[k]!) / 2);
  assert.ok(Math.max(...half) < 1.6 && Math.max(...half) > 1.4, `box ${JSON.stringify(ds.aabb)}`);
  assert.ok(Math.min(...half) > 1.2, 'the ball fills the box on every axis');
  assert.equal(ds.points!.xyz.length, 403 * 3);
  assert.equal(ds.points!.rgb.length, 403 * 3);
  // Most of the ball is inside the box; the strays are far outside it.
  const inside = (i: number) => [0, 1, 2].every((k) => ds.points!.xyz[i * 3 + k]! >= lo[k]! && ds.points!.xyz[i * 3 + k]! <= hi[k]!);
  const ball = Array.from({ length: 400 }, (_, i) => i).filter(inside).length;
  assert.ok(ball >= 0.9 * 400, `${ball} of 400 points inside the box`);
  assert.ok(![400, 401, 402].some(inside), 'the strays are outside');
});

test('the text model reads exactly as the binary one; a .zip of the capture too', async () => {
  const bin = await load(capture('sparse/0/', 'bin'));
  const txt = await load(capture('sparse/0/', 'txt'));
  assert.deepEqual(txt.splits, bin.splits);
  assert.deepEqual(txt.aabb, bin.aabb);
  assert.deepEqual(txt.points, bin.points);
  const zip = zipSync(Object.fromEntries(capture('sparse/0/', 'bin')));
  const zipped = await loadDataset(zipSource(zip, 'capture.zip', LIMITS), opts());
  assert.deepEqual(zipped.splits, bin.splits);
  // Windows line endings and blank lines between records, as some exporters write.
  const text = modelText(MODEL);
  const files = capture('sparse/0/', 'txt');
  files.set('sparse/0/images.txt', enc.encode(text.images.replace(/\n/g, '\r\n\r\n')));
  files.set('sparse/0/cameras.txt', enc.encode(text.cameras.replace(/\n/g, '\r\n')));
  assert.deepEqual((await load(files)).splits, bin.splits);
  // Without the 2D points lines at all, as some exporters write.
  files.set('sparse/0/images.txt', enc.encode(text.images.replace(/\n\n/g, '\n')));
  assert.deepEqual((await load(files)).splits, bin.splits);
});

test('several models: the one with most registered images is used and the choice is said; also at the top level and in sparse/', async () => {
  const few: FixtureModel = { ...MODEL, images: MODEL.images.slice(0, 3) };
  const files = new Map([...capture('sparse/1/'), ...modelFiles(few, 'sparse/0/', 'bin')]);
  const ds = await load(files);
  assert.equal(ds.splits.train!.names.length + ds.splits.test!.names.length, 16);
  assert.equal(ds.warnings.length, 1);
  assert.match(ds.warnings[0]!, /capture\/sparse\/1\/: using this sparse model, which registers 16 images; also found sparse\/0\/ \(3\)/);
  for (const dir of ['', 'sparse/']) {
    const other = await load(capture(dir));
    assert.deepEqual(other.splits.test!.names, ds.splits.test!.names);
  }
});

test('pre-downscaled images_2 are read at downscale 2 (intrinsics of the full size, halved); training on all views', async () => {
  const files = capture();
  const half = new Uint8Array((SCENE.width / 2) * (SCENE.height / 2) * 4).fill(77);
  for (let i = 0; i < 16; i++) files.set(`images_2/${NAME(i)}`, encodePng(half, SCENE.width / 2, SCENE.height / 2));
  const ds = await load(files, { downscale: 2, holdOut: 0 });
  const train = ds.splits.train!;
  assert.equal(ds.splits.test, undefined);
  assert.equal(train.names.length, 16);
  assert.equal(train.names[0], `images_2/${NAME(0)}`);
  assert.deepEqual(train.images[0], half);
  assert.equal(train.width, SCENE.width / 2);
  assert.equal(train.cameras[0]!.fx, SCENE.cameras[0]!.fx / 2);
  // At another downscale the full-size images are read and downscaled.
  const four = await load(files, { downscale: 4, holdOut: 0 });
  assert.equal(four.splits.train!.names[0], `images/${NAME(0)}`);
});

test('images of several sizes in one model (two cameras): each camera keeps its own size; the capture trains and is scored', async (t) => {
  // Every odd view through a second, wider camera of another size and focal length.
  const wide = (c: PosedView): PosedView => ({ ...c, width: 18, height: 12, fx: 13, fy: 13, cx: 9, cy: 6 });
  const cams = SCENE.cameras.map((c, i) => (i % 2 ? wide(c) : c));
  const model: FixtureModel = {
    cameras: [
      { id: 1, model: 'PINHOLE', width: 12, height: 12, params: [SCENE.cameras[0]!.fx, SCENE.cameras[0]!.fy, SCENE.cameras[0]!.cx, SCENE.cameras[0]!.cy] },
      { id: 2, model: 'PINHOLE', width: 18, height: 12, params: [13, 13, 9, 6] },
    ],
    images: cams.map((c, i) => ({ id: i + 1, ...imagePose(moved(c).c2w), cameraId: (i % 2) + 1, name: NAME(i) })),
    points: scenePoints(),
  };
  const files = new Map([
    ...modelFiles(model, 'sparse/0/', 'bin'),
    ...cams.map((c, i) => [`images/${NAME(i)}`, encodePng(renderProcedural(c), c.width, c.height)] as const),
  ]);
  // Every third view held out, so both sizes are scored.
  const ds = await load(files, { holdOut: 3 });
  assert.deepEqual(new Set(ds.splits.test!.cameras.map((c) => c.width)), new Set([12, 18]));
  const train = ds.splits.train!;
  const sizes = train.cameras.map((c) => `${c.width}x${c.height}`);
  assert.deepEqual(new Set(sizes), new Set(['12x12', '18x12']));
  train.cameras.forEach((c, i) => {
    assert.equal(train.images[i]!.length, c.width * c.height * 4, `${train.names[i]}: its own size`);
    assert.equal(c.fx, c.width === 18 ? 13 : SCENE.cameras[0]!.fx);
  });
  // Training draws from both sizes and the held-out views are scored.
  const ctx = await nodeGpu();
  const cfg = resolveConfig('vm48', {
    N_voxel_init: 16 ** 3,
    N_voxel_final: 24 ** 3,
    upsamp_list: [40],
    update_AlphaMask_list: [50],
    featureC: 16,
    batch_size: 256,
    n_iters: 80,
  });
  const run = new TrainingRun(ctx, ds, cfg, { seed: 1, evaluation: { views: 2 } });
  const result = await run.run();
  const psnr = result!.evaluation!.psnr;
  run.dispose();
  t.diagnostic(`two cameras, 12×12 and 18×12: held-out PSNR ${psnr.toFixed(2)} dB after 80 iterations`);
  assert.ok(psnr > 12 && Number.isFinite(psnr), `held-out PSNR ${psnr}`);
});

test('camera models: the pinhole, radial, OpenCV and fisheye ones become intrinsics and a lens; FOV and THIN_PRISM_FISHEYE are refused by name', async () => {
  const w = SCENE.width;
  const h = SCENE.height;
  const models: FixtureModel['cameras'] = [
    { id: 1, model: 'SIMPLE_PINHOLE', width: w, height: h, params: [10, 6, 5] },
    { id: 2, model: 'PINHOLE', width: w, height: h, params: [11, 12, 6.5, 5.5] },
    { id: 3, model: 'SIMPLE_RADIAL', width: w, height: h, params: [13, 6, 6, 0.01] },
    { id: 4, model: 'RADIAL', width: w, height: h, params: [14, 6, 6, 0.02, -0.03] },
    { id: 5, model: 'OPENCV', width: w, height: h, params: [15, 16, 6, 6, 0.04, -0.05, 0.001, -0.002] },
    { id: 6, model: 'FULL_OPENCV', width: w, height: h, params: [15, 16, 6, 6, 0.04, -0.05, 0.001, -0.002, 0.01, 0.02, -0.01, 0.005] },
    { id: 7, model: 'OPENCV_FISHEYE', width: w, height: h, params: [5, 5.5, 6, 6, -0.02, 0.005, -0.001, 0.0002] },
    { id: 8, model: 'SIMPLE_RADIAL_FISHEYE', width: w, height: h, params: [5, 6, 6, -0.03] },
    { id: 9, model: 'RADIAL_FISHEYE', width: w, height: h, params: [5, 6, 6, -0.03, 0.004] },
  ];
  const model: FixtureModel = { ...MODEL, cameras: models, images: MODEL.images.slice(0, 9).map((im, i) => ({ ...im, cameraId: i + 1 })) };
  const ds = await load(capture('sparse/0/', 'txt', model), { holdOut: 0 });
  const cams = ds.splits.train!.cameras;
  const got = cams.map((c) => [c.fx, c.fy, c.cx, c.cy, c.distortion ?? c.fisheye ?? null, c.fisheye ? 'fisheye' : 'opencv']);
  assert.deepEqual(got, [
    [10, 10, 6, 5, null, 'opencv'],
    [11, 12, 6.5, 5.5, null, 'opencv'],
    [13, 13, 6, 6, { k1: 0.01, k2: 0, p1: 0, p2: 0 }, 'opencv'],
    [14, 14, 6, 6, { k1: 0.02, k2: -0.03, p1: 0, p2: 0 }, 'opencv'],
    [15, 16, 6, 6, { k1: 0.04, k2: -0.05, p1: 0.001, p2: -0.002 }, 'opencv'],
    [15, 16, 6, 6, { k1: 0.04, k2: -0.05, p1: 0.001, p2: -0.002, k3: 0.01, k4: 0.02, k5: -0.01, k6: 0.005 }, 'opencv'],
    [5, 5.5, 6, 6, { k1: -0.02, k2: 0.005, k3: -0.001, k4: 0.0002 }, 'fisheye'],
    [5, 5, 6, 6, { k1: -0.03, k2: 0, k3: 0, k4: 0 }, 'fisheye'],
    [5, 5, 6, 6, { k1: -0.03, k2: 0.004, k3: 0, k4: 0 }, 'fisheye'],
  ]);
  for (const [name, params] of [
    ['FOV', [15, 16, 6, 6, 0.9]],
    ['THIN_PRISM_FISHEYE', [15, 16, 6, 6, 0.1, 0.01, 0, 0, 0, 0, 0, 0]],
  ] as const) {
    const odd: FixtureModel = { ...model, cameras: [...models.slice(0, 4), { id: 5, model: name, width: w, height: h, params: [...params] }] };
    await assert.rejects(load(capture('sparse/0/', 'bin', odd)), (e: Error) => {
      assert.ok(e instanceof DatasetError);
      assert.match(e.message, new RegExp(`^capture/sparse/0/cameras\\.bin: camera 5 uses the ${name} model, which Slimfield cannot undistort yet`));
      return true;
    });
  }
});

test('masks/<image>.png beside images/ mask the images: their alpha, and the dataset is marked masked', async () => {
  const files = capture();
  const w = SCENE.width;
  const mask = new Uint8Array(w * SCENE.height * 4);
  for (let i = 0; i < w * SCENE.height; i++) mask.fill(i % w < w / 2 ? 0 : 255, i * 4, i * 4 + 4);
  for (let i = 0; i < 16; i++) files.set(`masks/${NAME(i)}.png`, encodePng(mask, w, SCENE.height));
  const ds = await load(files);
  assert.equal(ds.masked, true);
  const img = ds.splits.train!.images[0]!;
  for (let i = 0; i < w * SCENE.height; i++) assert.equal(img[i * 4 + 3], i % w < w / 2 ? 0 : SCENE.images[1]![i * 4 + 3], `alpha of pixel ${i}`);
  // Without masks, a capture's own alpha is its mask (the procedural renders are transparent around
  // the object); opaque photos are not masked.
  assert.equal((await load(capture())).masked, true);
  const opaque = capture();
  SCENE.images.forEach((img, i) => {
    const solid = Uint8Array.from(img, (v, k) => (k % 4 === 3 ? 255 : v));
    opaque.set(`images/${NAME(i)}`, encodePng(solid, w, SCENE.height));
  });
  assert.equal((await load(opaque)).masked, undefined);
  files.set(`masks/${NAME(5)}.png`, encodePng(new Uint8Array(16), 2, 2));
  await assert.rejects(load(files), /^DatasetError: capture\/masks\/sub\/view_05\.png\.png: the mask is 2x2 but its image is 12x12$/);
});

test('the fox phone capture converted to a COLMAP model (OPENCV camera) reads as its transforms.json: intrinsics, distortion, pixels, and the same placement (poses and box)', async () => {
  const FOX = '/work/shared/data/fox';
  const json = JSON.parse(new TextDecoder().decode(await nodeFolderSource(FOX, LIMITS).readBytes('transforms.json')));
  const ngp = await loadDataset(nodeFolderSource(FOX, LIMITS), opts({ downscale: 8, holdOut: 0 }));
  const byName = new Map(ngp.splits.train!.names.map((n, i) => [n, ngp.splits.train!.cameras[i]!]));
  // Every listed frame, present or not: the 17 missing images must be skipped and named.
  const model = ngpAsColmap(json);
  // The model in memory over the capture's own folder (nothing copied), its transforms.json hidden.
  const overlay = (files: Map<string, Uint8Array>, below: FileSource): FileSource => {
    const top = mapSource(files, 'fox-colmap');
    return {
      label: 'fox-colmap',
      readText: (p) => (files.has(p) ? top.readText(p) : below.readText(p)),
      readBytes: (p) => (files.has(p) ? top.readBytes(p) : below.readBytes(p)),
      exists: async (p) => files.has(p) || (p !== 'transforms.json' && below.exists(p)),
      list: async (folder) => [...new Set([...(await top.list(folder)), ...(await below.list(folder))])].filter((n) => n !== 'transforms.json').sort(),
    };
  };
  const colmap = await loadDataset(overlay(modelFiles(model, 'sparse/0/', 'bin'), nodeFolderSource(FOX, LIMITS)), opts({ downscale: 8, holdOut: 0 }));
  assert.match(colmap.warnings[0]!, /skipped 17 of 67 registered images that are missing/);
  const train = colmap.splits.train!;
  assert.deepEqual([...train.names].sort(), [...ngp.splits.train!.names].sort());
  // One placement rule for both formats: the same world, not merely the same rig up to a similarity.
  // (To 1e-5: transforms.json's rotations are orthonormal only to 1.2e-6, and a COLMAP model's
  // quaternions make them exact, which moves the cameras' mean up by as much.)
  for (let k = 0; k < 2; k++)
    for (let a = 0; a < 3; a++) assert.ok(Math.abs(colmap.aabb[k]![a]! - ngp.aabb[k]![a]!) < 1e-5, `box ${colmap.aabb} vs ${ngp.aabb}`);
  train.cameras.forEach((cam, i) => {
    const truth = byName.get(train.names[i]!)!;
    assert.ok(
      cam.c2w.every((v, j) => Math.abs(v - truth.c2w[j]!) < 1e-5),
      `${train.names[i]}: ${Array.from(cam.c2w)} vs ${Array.from(truth.c2w)}`,
    );
    assert.deepEqual(cam.distortion, truth.distortion);
    assert.deepEqual(train.images[i], ngp.splits.train!.images[ngp.splits.train!.names.indexOf(train.names[i]!)]);
  });
});

/** Asserts that loading rejects with a DatasetError whose message matches. */
async function refused(files: Map<string, Uint8Array>, message: RegExp): Promise<string> {
  let said = '';
  await assert.rejects(load(files), (e: Error) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`);
    assert.match(e.message, message);
    said = e.message;
    return true;
  });
  return said;
}

test('hostile COLMAP files are refused naming the file and the record', async () => {
  const bin = (edit: (m: FixtureModel) => FixtureModel) => capture('sparse/0/', 'bin', edit(structuredClone(MODEL)));
  const txt = (edit: (m: FixtureModel) => FixtureModel) => capture('sparse/0/', 'txt', edit(structuredClone(MODEL)));
  const said: string[] = [];

  // Truncated binary files.
  const cut = capture();
  const cams = cut.get('sparse/0/cameras.bin')!;
  cut.set('sparse/0/cameras.bin', cams.subarray(0, cams.length - 5));
  said.push(await refused(cut, /^capture\/sparse\/0\/cameras\.bin: the file ends in camera 1's cy \(8 bytes needed at byte \d+, 3 left\): it is truncated$/));
  const cutImages = capture();
  const images = cutImages.get('sparse/0/images.bin')!;
  cutImages.set('sparse/0/images.bin', images.subarray(0, images.length - 30));
  said.push(await refused(cutImages, /^capture\/sparse\/0\/images\.bin: the file ends in the number of 2D points of image 16 \(8 bytes needed/));

  // A count far beyond what the file holds.
  const lying = capture();
  const imgs = Uint8Array.from(lying.get('sparse/0/images.bin')!);
  new DataView(imgs.buffer).setBigUint64(0, 1_000_000n, true);
  lying.set('sparse/0/images.bin', imgs);
  said.push(await refused(lying, /^capture\/sparse\/0\/images\.bin: it says it holds 1,000,000 images, more than its [\d,]+ remaining bytes can/));

  // A camera id that does not exist; a model id COLMAP does not define.
  said.push(
    await refused(
      txt((m) => ({ ...m, images: m.images.map((im, i) => (i === 3 ? { ...im, cameraId: 7 } : im)) })),
      /^capture\/sparse\/0\/images\.txt: image 4 \(sub\/view_03\.png\) uses camera 7, which capture\/sparse\/0\/cameras\.txt does not define$/,
    ),
  );
  const badModel = capture();
  const c = Uint8Array.from(badModel.get('sparse/0/cameras.bin')!);
  new DataView(c.buffer).setInt32(12, 42, true);
  badModel.set('sparse/0/cameras.bin', c);
  said.push(await refused(badModel, /cameras\.bin: camera 1 has model id 42, which COLMAP does not define \(0 to 10\)$/));

  // NaN and zero quaternions, in text and binary.
  said.push(
    await refused(
      txt((m) => ({ ...m, images: m.images.map((im, i) => (i === 2 ? { ...im, q: [Number.NaN, 0, 0, 1] } : im)) })),
      /images\.txt: line \d+: image 3's qw is "NaN", not a finite number$/,
    ),
  );
  said.push(
    await refused(
      bin((m) => ({ ...m, images: m.images.map((im, i) => (i === 2 ? { ...im, q: [Number.NaN, 0, 0, 1] } : im)) })),
      /images\.bin: image 3 \(sub\/view_02\.png\)'s rotation quaternion holds NaN, not a finite number$/,
    ),
  );
  said.push(
    await refused(
      bin((m) => ({ ...m, images: m.images.map((im, i) => (i === 0 ? { ...im, q: [0, 0, 0, 0] } : im)) })),
      /images\.bin: image 1 \(sub\/view_00\.png\) has a zero rotation quaternion$/,
    ),
  );

  // Zero focal length; the wrong number of parameters.
  said.push(
    await refused(
      bin((m) => ({ ...m, cameras: [{ ...m.cameras[0]!, params: [0, 10, 6, 6] }] })),
      /cameras\.bin: camera 1 \(PINHOLE\) has focal length fx = 0; it must be positive$/,
    ),
  );
  said.push(
    await refused(
      txt((m) => ({ ...m, cameras: [{ ...m.cameras[0]!, params: [10, 10, 6] }] })),
      /cameras\.txt: line 3: camera 1 \(PINHOLE\) has 3 parameters; PINHOLE has 4 \(fx, fy, cx, cy\)$/,
    ),
  );

  // Images listed but missing: skipped with a warning naming them, refused when none is there.
  const some = capture();
  some.delete(`images/${NAME(4)}`);
  some.delete(`images/${NAME(9)}`);
  const ds = await load(some);
  assert.match(ds.warnings[0]!, /capture\/sparse\/0\/images\.bin: skipped 2 of 16 registered images that are missing: sub\/view_04\.png, sub\/view_09\.png/);
  const none = modelFiles(MODEL, 'sparse/0/', 'bin');
  said.push(await refused(none, /images\.bin: none of the 16 registered images were found in images\/ or \.\/ \(first: sub\/view_00\.png\)$/));
  assert.equal(said.length, 11);
});
