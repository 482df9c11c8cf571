// Grid arithmetic against the numbers computed from the reference code (notes 2.3) and the
// resize/crop helpers used by upsampling and the AABB shrink.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Box,
  contractedBox,
  contractPoint,
  cropLine,
  cropPlane,
  marchStart,
  marchStep,
  NDC_BOX,
  type NdcFrame,
  ndcPoint,
  resizeLine,
  resizePlane,
  resolutionForVoxels,
  samplesPerRay,
  toField,
  toWorld,
  uncontractPoint,
} from '../../src/field/geometry.ts';
import { upsampleVoxelCounts } from '../../src/train/schedule.ts';

const cube: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };

test('log-linear voxel schedule matches the reference Blender VM table', () => {
  assert.deepEqual(upsampleVoxelCounts(2097156, 27000000, 5), [3496048, 5828059, 9715621, 16196350, 27000000]);
});

test('N_to_reso: 128^3 from the reference init count, floor quirk at 300^3', () => {
  assert.deepEqual(resolutionForVoxels(2097156, cube), [128, 128, 128]);
  const r = resolutionForVoxels(27000000, cube);
  assert.ok(r.every((x) => x === 299 || x === 300));
  assert.equal(samplesPerRay([128, 128, 128], 0.5), 443);
});

test('bilinear and linear resize reproduce linear functions exactly (align corners)', () => {
  const k = 3;
  const [w, h, w2, h2] = [5, 4, 9, 7];
  const f = (x: number, y: number, r: number) => 0.3 * x - 0.7 * y + r;
  const src = new Float32Array(w * h * k);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let r = 0; r < k; r++) src[(y * w + x) * k + r] = f(x, y, r);
  const out = resizePlane(src, k, w, h, w2, h2);
  for (let y = 0; y < h2; y++) {
    for (let x = 0; x < w2; x++) {
      for (let r = 0; r < k; r++) {
        const want = f((x * (w - 1)) / (w2 - 1), (y * (h - 1)) / (h2 - 1), r);
        assert.ok(Math.abs(out[(y * w2 + x) * k + r]! - want) < 1e-5);
      }
    }
  }
  const line = new Float32Array([0, 10, 2, 12, 4, 14]); // k = 2, l = 3: values 2i and 10 + 2i
  const up = resizeLine(line, 2, 3, 5);
  assert.deepEqual(Array.from(up), [0, 10, 1, 11, 2, 12, 3, 13, 4, 14]);
});

test('crops keep the requested index ranges', () => {
  const k = 2;
  const w = 4;
  const src = new Float32Array(w * 3 * k).map((_, i) => i);
  const c = cropPlane(src, k, w, 1, 3, 1, 3);
  assert.deepEqual(Array.from(c), [10, 11, 12, 13, 18, 19, 20, 21]);
  assert.deepEqual(Array.from(cropLine(new Float32Array([0, 1, 2, 3, 4, 5]), 2, 1, 3)), [2, 3, 4, 5]);
});

test('scene contraction: identity in the inner box, all of space inside the doubled box, the inverse undoes it, steps grow as r^2', () => {
  const inner: Box = { lo: [-1, -2, 0], hi: [3, 2, 1] };
  const outer = contractedBox(inner);
  assert.deepEqual(outer, { lo: [-3, -4, -0.5], hi: [5, 4, 1.5] });
  assert.deepEqual(contractPoint(inner, [0.5, 1, 0.25]), [0.5, 1, 0.25]);
  for (const p of [
    [10, 0, 0.5],
    [-1e5, 3, 2],
    [1, 1e7, -1e7],
    [3.5, 2.5, 1.25],
  ]) {
    const q = contractPoint(inner, p);
    assert.ok(
      q.every((v, a) => v > outer.lo[a]! && v < outer.hi[a]!),
      `${p} -> ${q}`,
    );
    const back = uncontractPoint(inner, q);
    if (Math.max(...p.map(Math.abs)) >= 1e3) continue;
    for (let a = 0; a < 3; a++) assert.ok(Math.abs(back[a]! - p[a]!) < 1e-9 * Math.max(1, Math.abs(p[a]!)), `${p} round trip ${back}`);
  }
  // Radius 2 in normalised units (x = 1 + 2*2 = 5): contracted radius 1.5, the world step 4x.
  assert.deepEqual(contractPoint(inner, [5, 0, 0.5]), [4, 0, 0.5]);
  assert.equal(marchStep({ contraction: inner }, [5, 0, 0.5], 0.1), 0.4);
  assert.equal(marchStep({ contraction: inner }, [1, 0, 0.5], 0.1), 0.1);
  assert.equal(marchStep(undefined, [50, 0, 0.5], 0.1), 0.1);
});

test("NDC: the image's edge at x = ±1 at every depth, the near plane at z = −1, infinity at z = 1, the inverse undoes it, steps grow as depth²", () => {
  // A camera at (0, -4, 0) looking along +y (z up): right = +x, down = -z; a 90° × 60° view.
  const f: NdcFrame = { centre: [0, -4, 0], right: [1, 0, 0], down: [0, 0, -1], forward: [0, 1, 0], ax: 1, ay: Math.sqrt(3), near: 0.5 };
  const close = (a: readonly number[], b: readonly number[], tol = 1e-9) => a.every((v, i) => Math.abs(v - b[i]!) < tol);
  for (const depth of [0.5, 2, 40]) {
    // 45° to the right and 30° up at this depth: the image's right and top edges.
    const edge = ndcPoint(f, [depth, -4 + depth, depth * Math.tan(Math.PI / 6)]);
    assert.ok(close(edge, [1, -1, 1 - 1 / depth]), `depth ${depth}: ${edge}`);
  }
  assert.ok(close(ndcPoint(f, [0, -3.5, 0]), [0, 0, -1]), 'the near plane');
  assert.ok(ndcPoint(f, [0, 1e9, 0])[2] > 0.999999, 'infinity');
  assert.deepEqual(ndcPoint(f, [0, -5, 0]), [0, 0, -2], 'behind the camera: outside the box');
  for (const p of [
    [0.3, -3, 0.2],
    [-5, 20, 3],
    [1, -3.9, -0.01],
  ]) {
    const w = { ndc: f };
    assert.ok(close(toWorld(w, toField(w, p)), p, 1e-9 * Math.max(...p.map(Math.abs))), `${p} round trip`);
  }
  // Depth 3 = 6 near planes: the NDC depth moves 2·near/depth² per world unit, so the step is depth²/(2·near) times.
  assert.ok(Math.abs(marchStep({ ndc: f }, [0, -1, 0], 0.01) - 0.09) < 1e-12);
  // Nearer than the near plane: the near plane's step.
  assert.ok(Math.abs(marchStep({ ndc: f }, [0, -3.9, 0], 0.01) - 0.0025) < 1e-12);
  // The march starts at the near plane, or the run's near when that is further; a ray looking away never starts.
  assert.ok(Math.abs(marchStart({ ndc: f }, [0, -4, 0], [0, 1, 0], 0.1) - 0.5) < 1e-12);
  assert.ok(Math.abs(marchStart({ ndc: f }, [0, -4, 0], [0.6, 0.8, 0], 0.1) - 0.625) < 1e-12);
  assert.equal(marchStart({ ndc: f }, [0, -4, 0], [0, 1, 0], 2), 2);
  assert.equal(marchStart({ ndc: f }, [0, -4, 0], [0, -1, 0], 0.1), Infinity);
  assert.equal(marchStart({ contraction: NDC_BOX }, [0, -4, 0], [0, -1, 0], 0.1), 0.1);
});
