// LLFF input: poses_bounds.npy written by test/fixtures/llff.ts from the procedural scene's
// forward-facing cameras, in a world turned, scaled and moved away from ours, read back with the
// reference's recentring; pre-downscaled images; the .npy reader's variants; hostile files, each
// refused naming the file and the row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeImageNode, encodePng } from '../../src/data/image-node.ts';
import { inputLimits } from '../../src/data/input-limits.ts';
import { type LoadOptions, loadDataset } from '../../src/data/load.ts';
import { readNpy } from '../../src/data/npy.ts';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { mapSource } from '../../src/data/sources.ts';
import { DatasetError, type PosedView } from '../../src/data/types.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import { sceneSpace, trainingFrame } from '../../src/train/scene-frame.ts';
import { facesForward } from '../../src/view/camera-path.ts';
import { proceduralCapture } from '../fixtures/colmap.ts';
import { LLFF_NAME, llffFiles, llffRow, proceduralLlff, writeNpy } from '../fixtures/llff.ts';
import { apply, assertSameRig, similarity } from '../fixtures/rig.ts';

const LIMITS = inputLimits(8 * 2 ** 30, 'in this test');
const opts = (extra: Partial<LoadOptions> = {}): LoadOptions => ({ decode: decodeImageNode, limits: LIMITS, ...extra });
const load = (files: Map<string, Uint8Array>, extra: Partial<LoadOptions> = {}) => loadDataset(mapSource(files, 'fern'), opts(extra));

const { files: FILES, split: SPLIT } = proceduralLlff(16, 16);

// The same cameras in a world turned (x and y swapped, z flipped), scaled by 2.5 and
// moved: LLFF's recentring must undo it up to a similarity.
const TURN = [0, 1, 0, 1, 0, 0, 0, 0, -1];
const moved = (cam: PosedView): PosedView => {
  const c2w = new Float64Array(12);
  for (let col = 0; col < 3; col++) {
    const v = apply(TURN, [cam.c2w[col]!, cam.c2w[4 + col]!, cam.c2w[8 + col]!]);
    for (let r = 0; r < 3; r++) c2w[r * 4 + col] = v[r]!;
  }
  const t = apply(TURN, [cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!]).map((v, k) => 2.5 * v + [3, -1, 7][k]!);
  for (let r = 0; r < 3; r++) c2w[r * 4 + 3] = t[r]!;
  return { ...cam, c2w };
};

const truthOf = (name: string) => SPLIT.cameras[Number(/IMG_(\d+)/.exec(name)![1]) - 4000]!;

test('an LLFF capture: poses recentred up to a similarity, up +z, looking along +y, every 8th held out, the objects in the box, unbounded', async () => {
  const files = new Map([...FILES, ...llffFiles(SPLIT, 2.5 * 2.5, 30 * 2.5, SPLIT.cameras.map(moved))]);
  const ds = await load(files);
  assert.equal(ds.format, 'llff');
  assert.equal(ds.unbounded, true, 'a capture of its surroundings');
  assert.deepEqual(ds.splits.test!.names, [`images/${LLFF_NAME(0)}`, `images/${LLFF_NAME(8)}`]);
  assert.equal(ds.splits.train!.names.length, 14);
  const cams = [...ds.splits.train!.cameras, ...ds.splits.test!.cameras];
  const names = [...ds.splits.train!.names, ...ds.splits.test!.names];
  assertSameRig(cams, names, truthOf);
  ds.splits.train!.names.forEach((n, i) => {
    assert.deepEqual(ds.splits.train!.images[i], SPLIT.images[SPLIT.cameras.indexOf(truthOf(n))], `${n}: pixels unchanged`);
  });
  // One orientation for all (the forward layout): up (−y) is +z, forward (+z of OpenCV) is +y.
  for (const c of cams) {
    assert.ok(Math.abs(-c.c2w[9]! - 1) < 1e-9, `up ${[-c.c2w[1]!, -c.c2w[5]!, -c.c2w[9]!]}`);
    assert.ok(Math.abs(c.c2w[6]! - 1) < 1e-9, `forward ${[c.c2w[2]!, c.c2w[6]!, c.c2w[10]!]}`);
  }
  assert.ok(facesForward(cams), 'a forward-facing capture: the video path is a spiral');
  // It trains in NDC by default, the near plane at 3/4 of the nearest bound (2.5 in the truth's units).
  const s = similarity(cams, names.map(truthOf));
  assert.ok(Math.abs(ds.nearestDepth! - 2.5 * s.scale) < 1e-9 * s.scale, `nearest depth ${ds.nearestDepth} vs ${2.5 * s.scale}`);
  assert.equal(sceneSpace(ds, {}), 'ndc');
  const ndc = trainingFrame(ds, MODEL_PRESETS.vm48, {}).settings.ndc!;
  assert.ok(Math.abs(ndc.near - 0.75 * ds.nearestDepth!) < 1e-12);
  assert.ok(Math.abs(ndc.forward[1] - 1) < 1e-9, `NDC looks along +y: ${ndc.forward}`);
  // The objects (at the scene's origin) are in the box, which spans 1.5 at most.
  const at = s.map([0, 0, 0]);
  const [lo, hi] = ds.aabb;
  assert.ok(
    [0, 1, 2].every((k) => at[k]! > lo[k]! && at[k]! < hi[k]!),
    `objects at ${at} in ${JSON.stringify(ds.aabb)}`,
  );
  assert.ok(Math.abs(Math.max(...[0, 1, 2].map((k) => (hi[k]! - lo[k]!) / 2)) - 1.5) < 1e-9);
  assert.ok(
    [0, 1, 2].every((k) => cams.every((c) => c.c2w[k * 4 + 3]! >= lo[k]! - 1e-9 && c.c2w[k * 4 + 3]! <= hi[k]! + 1e-9)),
    'the cameras are in the box',
  );
});

test('pre-downscaled images_4 are read at downscale 4 (focal of the full size, quartered); images/ downscaled otherwise', async () => {
  const big = proceduralLlff(9, 32);
  const small = proceduralDataset({ size: 8, train: 9, test: 1, background: 'environment', layout: 'forward' }).splits.train!;
  const files = new Map([...big.files, ...small.images.map((img, i) => [`images_4/${LLFF_NAME(i)}`, encodePng(img, 8, 8)] as [string, Uint8Array])]);
  const four = await load(files, { downscale: 4, holdOut: 0 });
  assert.equal(four.splits.train!.width, 8);
  assert.equal(four.splits.train!.names[0], `images_4/${LLFF_NAME(0)}`);
  assert.deepEqual(four.splits.train!.images[0], small.images[0]);
  assert.ok(Math.abs(four.splits.train!.cameras[0]!.fx - big.split.cameras[0]!.fx / 4) < 1e-9);
  const two = await load(files, { downscale: 2, holdOut: 0 });
  assert.equal(two.splits.train!.width, 16);
  assert.equal(two.splits.train!.names[0], `images/${LLFF_NAME(0)}`);
});

test('the .npy reader: float64 and float32, C and Fortran order, format versions 1 and 2', () => {
  const values = [1, 2, 3, 4, 5, 6.5];
  const c = readNpy(writeNpy([2, 3], values), 'a.npy');
  assert.deepEqual(c.shape, [2, 3]);
  assert.deepEqual([...c.data], values);
  assert.deepEqual([...readNpy(writeNpy([2, 3], values, '<f4'), 'a.npy').data], values);
  // Fortran order stores columns first: [1, 4, 2, 5, 3, 6.5] is the same 2×3 array.
  assert.deepEqual([...readNpy(writeNpy([2, 3], [1, 4, 2, 5, 3, 6.5], '<f8', true), 'a.npy').data], values);
  // Version 2: a 4-byte header length.
  const v1 = writeNpy([2, 3], values);
  const headerLength = v1[8]! | (v1[9]! << 8);
  const v2 = new Uint8Array(v1.length + 2);
  v2.set(v1.subarray(0, 8));
  v2[6] = 2;
  new DataView(v2.buffer).setUint32(8, headerLength, true);
  v2.set(v1.subarray(10), 12);
  assert.deepEqual([...readNpy(v2, 'a.npy').data], values);
});

/** Asserts that loading rejects with a DatasetError whose message matches. */
async function refused(files: Map<string, Uint8Array>, message: RegExp): Promise<void> {
  await assert.rejects(load(files), (e: unknown) => {
    assert.ok(e instanceof DatasetError, `a DatasetError, got ${e}`);
    assert.match((e as Error).message, message);
    return true;
  });
}

test('hostile LLFF files are refused naming the file and the row', async () => {
  const rows = SPLIT.cameras.map((c) => llffRow(c, 2.5, 30));
  const withPoses = (bytes: Uint8Array) => new Map([...FILES, ['poses_bounds.npy', bytes]]);
  const edited = (row: number, col: number, v: number) => {
    const r = rows.map((x) => [...x]);
    r[row]![col] = v;
    return withPoses(writeNpy([16, 17], r.flat()));
  };
  const npy = FILES.get('poses_bounds.npy')!;
  await refused(withPoses(new TextEncoder().encode('not numpy at all')), /fern\/poses_bounds\.npy: not a readable \.npy array: it does not start with/);
  await refused(withPoses(npy.subarray(0, npy.length - 100)), /poses_bounds\.npy: .*needs 2176 bytes of data, but 2076 follow the header/);
  await refused(withPoses(npy.subarray(0, 40)), /poses_bounds\.npy: .*past the end/);
  await refused(
    withPoses(
      writeNpy(
        [16, 15],
        rows.flatMap((r) => r.slice(0, 15)),
      ),
    ),
    /poses_bounds\.npy: expected one row of 17 numbers .*got shape \(16, 15\)/,
  );
  const bigEndian = writeNpy([16, 17], rows.flat());
  bigEndian.set(new TextEncoder().encode('>f8'), bigEndian.indexOf(0x3c)); // '<' of '<f8'
  await refused(withPoses(bigEndian), /poses_bounds\.npy: .*type >f8 is not little-endian/);
  await refused(edited(3, 7, Number.NaN), /poses_bounds\.npy: row 3: value 7 is NaN, not a finite number/);
  await refused(edited(0, 14, 0), /poses_bounds\.npy: row 0: height 16, width 16 and focal length 0 must be positive/);
  await refused(edited(1, 15, 40), /poses_bounds\.npy: row 1: the bounds must satisfy 0 < near < far, got near 40, far 30/);
  await refused(edited(2, 0, 3), /poses_bounds\.npy: row 2: the rotation's columns are not unit vectors/);
  const oneMissing = new Map(FILES);
  oneMissing.delete(`images/${LLFF_NAME(5)}`);
  await refused(oneMissing, /poses_bounds\.npy: holds 16 poses but fern\/images\/ holds 15 images/);
  await refused(new Map([['poses_bounds.npy', npy]]), /fern\/images\/: no \.jpg or \.png images found beside poses_bounds\.npy/);
});

test('a partial images_8/ is not fatal: images/ downscaled where the poses pair with it, else the COLMAP model beside them, each said', async () => {
  const { files, split } = proceduralLlff(9, 32);
  const partial = new Map([
    ...files,
    ...split.images.slice(0, 3).map((img, i) => [`images_8/${LLFF_NAME(i)}`, encodePng(img, 32, 32)] as [string, Uint8Array]),
  ]);
  const llff = await load(partial, { downscale: 8, holdOut: 0 });
  assert.equal(llff.format, 'llff');
  assert.equal(llff.splits.train!.names[0], `images/${LLFF_NAME(0)}`);
  assert.equal(llff.splits.train!.width, 4);
  assert.match(llff.warnings.join('\n'), /poses_bounds\.npy holds 9 poses but fern\/images_8\/ holds 3 images: read images\/ downscaled by 8 instead/);

  // A COLMAP capture of 8 images with a poses_bounds.npy of 9 rows beside it: the COLMAP model is read.
  const colmap = new Map([...proceduralCapture(8, 32), ['poses_bounds.npy', files.get('poses_bounds.npy')!]]);
  const used = await load(colmap, { downscale: 8, holdOut: 0 });
  assert.equal(used.format, 'colmap');
  assert.equal(used.splits.train!.cameras.length, 8);
  assert.match(used.warnings.join('\n'), /poses_bounds\.npy: holds 9 poses but fern\/images\/ holds 8 images.*; used the COLMAP model beside it instead/);
});
