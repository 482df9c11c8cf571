// Features and matching: SIFT finds a Gaussian blob where it is, at its scale; a photo turned a
// quarter and its original give the same keypoints (moved by the turn) with matching descriptors;
// the GPU's SIFT kernels give their f64 twins' scale space, extrema, orientations and descriptors;
// the GPU's nearest-two kernel gives its f64 twin's indices and products; the ratio, distance and
// cross checks keep exactly the matches they should.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GpuContext } from '../../src/gpu/context.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { xorshift } from '../../src/gpu/random.ts';
import { nearestTwoRef } from '../../src/sfm/match.ref.ts';
import { DescriptorStore, filterMatches } from '../../src/sfm/match.ts';
import { extremaRef, type GreyImage, greyOf, scaleSpaceRef, siftRef } from '../../src/sfm/sift.ref.ts';
import { destroyOctaves, extremaGpu, firstOctaveFor, readOctaves, scaleSpaceGpu, siftGpu } from '../../src/sfm/sift.ts';
import { walkAround } from '../fixtures/photos.ts';

test('SIFT: a Gaussian blob of σ 4 centred at (40.5, 30.5) is found there, at about its scale', () => {
  const w = 80;
  const h = 64;
  const data = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = 0.2 + 0.6 * Math.exp(-((x + 0.5 - 40.5) ** 2 + (y + 0.5 - 30.5) ** 2) / (2 * 16));
  const f = siftRef({ width: w, height: h, data });
  // The strongest keypoint is the blob (a DoG extremum at σ√2 of the blob's σ).
  const k = f.keypoints;
  assert.ok(f.count >= 1);
  assert.ok(Math.abs(k[0]! - 40.5) < 0.3 && Math.abs(k[1]! - 30.5) < 0.3, `at ${k[0]}, ${k[1]}`);
  assert.ok(k[2]! > 3 && k[2]! < 7, `scale ${k[2]}`);
  for (let i = 0; i < f.count; i++) {
    const d = f.descriptors.subarray(i * 128, i * 128 + 128);
    assert.ok(Math.abs(d.reduce((a, v) => a + v * v, 0) - 1) < 1e-5, 'RootSIFT vectors have unit length');
  }
});

test('SIFT: a photo turned a quarter gives the same keypoints, turned, with matching descriptors', async () => {
  const photo = walkAround(1, 128).photos[0]!;
  const grey = greyOf(photo.rgba, 128, 128);
  // Turned a quarter clockwise: (x, y) ↦ (127 − y, x) in pixel indices, (128 − y, x) in continuous coordinates.
  const turned: GreyImage = { width: 128, height: 128, data: new Float64Array(128 * 128) };
  for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) turned.data[x * 128 + (127 - y)] = grey.data[y * 128 + x]!;
  const a = siftRef(grey, { maxFeatures: 500 });
  const b = siftRef(turned, { maxFeatures: 500 });
  const ab = nearestTwoRef(a.descriptors, b.descriptors);
  const ba = nearestTwoRef(b.descriptors, a.descriptors);
  const matches = filterMatches(ab, ba);
  let agree = 0;
  for (const [i, j] of matches) {
    const [x, y] = [a.keypoints[i * 4]!, a.keypoints[i * 4 + 1]!];
    if (Math.hypot(b.keypoints[j * 4]! - (128 - y), b.keypoints[j * 4 + 1]! - x) < 0.5) agree++;
  }
  assert.ok(matches.length > 0.5 * Math.min(a.count, b.count), `${matches.length} matches of ${a.count} and ${b.count} keypoints`);
  assert.ok(agree > 0.95 * matches.length, `${agree} of ${matches.length} matches land where the turn puts them`);
});

test('SIFT on the GPU against its f64 twin: scale space, refined extrema, keypoints and descriptors', async () => {
  const ctx = await nodeGpu();
  // An odd size, so that octaves halve unevenly.
  const photo = walkAround(1, 99).photos[0]!;
  const grey = greyOf(photo.rgba, 99, 99);
  const ref = scaleSpaceRef(grey);
  const octaves = scaleSpaceGpu(ctx, grey);
  const got = await readOctaves(ctx, octaves);
  assert.deepEqual(
    got.map((o) => [o.o, o.gauss.length, o.dog.length, o.gauss[0]!.width, o.gauss[0]!.height]),
    ref.map((o) => [o.o, o.gauss.length, o.dog.length, o.gauss[0]!.width, o.gauss[0]!.height]),
  );
  let worst = 0;
  ref.forEach((o, i) => {
    for (const kind of ['gauss', 'dog'] as const)
      o[kind].forEach((level, s) => {
        level.data.forEach((v, k) => {
          worst = Math.max(worst, Math.abs(v - got[i]![kind][s]!.data[k]!));
        });
      });
  });
  assert.ok(worst < 2e-6, `scale space differs by up to ${worst}`);
  // Extrema: the same ones (f32 against f64 may move one across a threshold), refined to the same place.
  const want = ref.flatMap((o) => extremaRef(o));
  const found = await extremaGpu(ctx, octaves);
  destroyOctaves(ctx, octaves);
  const near = (a: { octave: number; x: number; y: number; s: number }, b: typeof a) =>
    a.octave === b.octave && Math.abs(a.x - b.x) < 0.01 && Math.abs(a.y - b.y) < 0.01 && Math.abs(a.s - b.s) < 0.01;
  assert.ok(want.length > 50, `${want.length} extrema`);
  assert.ok(Math.abs(found.length - want.length) <= 1 && want.filter((e) => found.some((f) => near(e, f))).length >= want.length - 1);
  // Whole features: each of the reference's keypoints found with its angle, and a descriptor within 1e-5 of it.
  const a = siftRef(grey, { maxFeatures: 120 });
  const b = await siftGpu(ctx, grey, { maxFeatures: 120 });
  let same = 0;
  for (let i = 0; i < a.count; i++) {
    const j = Array.from({ length: b.count }, (_, j) => j).find((j) =>
      [0, 1, 2, 3].every((c) => Math.abs(a.keypoints[i * 4 + c]! - b.keypoints[j * 4 + c]!) < 0.01),
    );
    if (j === undefined) continue;
    let dot = 0;
    for (let c = 0; c < 128; c++) dot += a.descriptors[i * 128 + c]! * b.descriptors[j * 128 + c]!;
    if (dot > 1 - 1e-5) same++;
  }
  assert.ok(a.count > 100 && Math.abs(a.count - b.count) <= 2 && same >= a.count - 2, `${same} of ${a.count} keypoints (GPU: ${b.count}) the same`);
  // A photo whose upsampled levels would not fit one of the adapter's buffers starts at its own size.
  assert.equal(firstOctaveFor(ctx, { width: 99, height: 99 }), -1);
  assert.equal(firstOctaveFor({ maxBinding: 64 << 20 } as GpuContext, { width: 2048, height: 1536 }), 0);
  assert.equal(firstOctaveFor({ maxBinding: 128 << 20 } as GpuContext, { width: 1024, height: 768 }), -1);
});

test('matching on the GPU: the nearest two against the f64 twin; the checks keep what they should', async () => {
  const ctx = await nodeGpu();
  const rnd = xorshift(3);
  const unitVectors = (n: number) => {
    const out = new Float32Array(n * 128);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < 128; c++) {
        out[i * 128 + c] = rnd();
        s += out[i * 128 + c]! ** 2;
      }
      for (let c = 0; c < 128; c++) out[i * 128 + c]! /= Math.sqrt(s);
    }
    return out;
  };
  // 70 and 45 descriptors: neither a whole number of tiles.
  const a = unitVectors(70);
  const b = unitVectors(45);
  // Descriptor 5 of a is b's 9 slightly moved: an unambiguous mutual match.
  a.set(b.subarray(9 * 128, 10 * 128), 5 * 128);
  a[5 * 128]! += 0.01;
  const store = new DescriptorStore(ctx);
  store.add(a);
  store.add(b);
  const [ab, ba] = [await store.nearest(0, 1), await store.nearest(1, 0)];
  const ref = [nearestTwoRef(a, b), nearestTwoRef(b, a)];
  [ab, ba].forEach((got, k) => {
    assert.deepEqual([...got.index], [...ref[k]!.index]);
    for (let i = 0; i < got.best.length; i++) {
      assert.ok(Math.abs(got.best[i]! - ref[k]!.best[i]!) < 1e-5 && Math.abs(got.second[i]! - ref[k]!.second[i]!) < 1e-5);
    }
  });
  // Random vectors in 128 dimensions are all about as near: only the planted pair passes the ratio test.
  assert.deepEqual(filterMatches(ab, ba), [[5, 9]]);
  assert.deepEqual(await store.match(0, 1), [[5, 9]]);
  // A set that mostly matches: c holds every other descriptor of a, a little moved, and some of
  // a's twice (so those fail the ratio test). match() looks back only from what a picks, and
  // keeps what filterMatches keeps from both directions whole.
  const c = new Float32Array(40 * 128);
  for (let k = 0; k < 40; k++) {
    const src = k < 35 ? 2 * k : 2 * (k - 35);
    let norm = 0;
    for (let d = 0; d < 128; d++) {
      c[k * 128 + d] = a[src * 128 + d]! + (0.02 * (((k * 131 + d * 17) % 7) - 3)) / 3;
      norm += c[k * 128 + d]! ** 2;
    }
    for (let d = 0; d < 128; d++) c[k * 128 + d]! /= Math.sqrt(norm);
  }
  store.add(c);
  const whole = filterMatches(nearestTwoRef(a, c), nearestTwoRef(c, a));
  assert.ok(whole.length >= 25, `${whole.length} matches`);
  assert.deepEqual(await store.match(0, 2), whole);
  store.destroy();
});
