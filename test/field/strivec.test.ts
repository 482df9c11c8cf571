// Strivec's local tensors on the host: lattice placement, the candidate lookup against a
// brute-force search over every tensor, IDW weights, the coverage mask, line resampling and the
// studio's projection of the tensors' cubes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoSurfacePoint, orbitCamera } from '../../src/data/procedural.ts';
import { refDensityFeature } from '../../src/field/field.ref.ts';
import { TensorField } from '../../src/field/field.ts';
import { type Box, resizeLine, resizeLines, type Vec3 } from '../../src/field/geometry.ts';
import { cellsHolding, coverageMask, idwWeights, latticeCandidates, placeTensors, STRIVEC_K, tensorCentres } from '../../src/field/layouts/strivec-lattice.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import type { FieldSettings } from '../../src/field/settings.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal, xorshift } from '../../src/gpu/random.ts';
import { projectPoint } from '../../src/view/tensor-overlay.ts';

test('placement: one tensor per occupied lattice cell, centres on the lattice, every point inside its cell', () => {
  const pts = randomNormal(3 * 500, 0.4, 3);
  const { levels, tables } = placeTensors(pts, [0.4, 0.2, 0.1], [0.3, 0.15, 0.075]);
  assert.equal(levels.length, 3);
  levels.forEach((lv, l) => {
    const centres = tensorCentres(lv, tables[l]!);
    assert.equal(centres.length, lv.tensors * 3);
    // Every point's own cell holds a tensor whose centre is within half a cell per axis.
    for (let i = 0; i < 500; i++) {
      const p = [pts[i * 3]!, pts[i * 3 + 1]!, pts[i * 3 + 2]!];
      let found = false;
      for (let t = 0; t < lv.tensors && !found; t++) found = p.every((v, a) => Math.abs(v - centres[t * 3 + a]!) <= lv.spacing / 2 + 1e-9);
      assert.ok(found, `point ${i} has a tensor in its cell at level ${l}`);
    }
    assert.ok(lv.tensors <= 500 && lv.tensors >= 1);
  });
  assert.ok(levels[2]!.tensors > levels[0]!.tensors, 'finer levels have more tensors');
  assert.throws(() => placeTensors(new Float32Array(0), [0.4], [0.3]), /no occupied space/);
  assert.throws(() => placeTensors(pts, [0.4], [0.45]), /half-size 0.45 must lie between half and one lattice spacing/);
});

test('lattice lookup equals a brute-force search over all tensors (covering cube, K nearest)', () => {
  const pts = randomNormal(3 * 300, 0.5, 9);
  const { levels, tables } = placeTensors(pts, [0.4, 0.17], [0.3, 0.16]);
  const rnd = xorshift(4);
  let withMany = 0;
  let empty = 0;
  levels.forEach((lv, l) => {
    const centres = tensorCentres(lv, tables[l]!);
    for (let i = 0; i < 3000; i++) {
      const p: Vec3 = [rnd() * 3 - 1.5, rnd() * 3 - 1.5, rnd() * 3 - 1.5];
      const brute: { tensor: number; d: number }[] = [];
      for (let t = 0; t < lv.tensors; t++) {
        const q = [0, 1, 2].map((a) => p[a]! - centres[t * 3 + a]!);
        if (q.every((v) => Math.abs(v) <= lv.halfSize)) brute.push({ tensor: t, d: Math.hypot(...q) });
      }
      brute.sort((a, b) => a.d - b.d);
      const got = latticeCandidates(lv, tables[l]!, p);
      assert.deepEqual(
        got.map((c) => c.tensor),
        brute.slice(0, STRIVEC_K).map((b) => b.tensor),
        `level ${l} point ${p}`,
      );
      got.forEach((c, j) => {
        assert.ok(Math.abs(c.distance * lv.spacing - brute[j]!.d) < 1e-9);
      });
      if (brute.length > STRIVEC_K) withMany++;
      if (!brute.length) empty++;
    }
  });
  assert.ok(withMany > 20 && empty > 100, `cases with more than K candidates (${withMany}) and with none (${empty}) were exercised`);
});

test('IDW weights: normalised, nearer tensors weigh more', () => {
  const w = idwWeights([
    { tensor: 0, local: [0.1, 0, 0], distance: 0.1 },
    { tensor: 1, local: [0.5, 0, 0], distance: 0.5 },
  ]);
  assert.ok(Math.abs(w[0]! + w[1]! - 1) < 1e-12 && w[0]! > w[1]!);
  assert.ok(Math.abs(w[0]! / w[1]! - 0.5 / 0.1) < 1e-4);
});

test('coverage mask: a lattice point is on exactly when it or a neighbour is covered at every level', () => {
  const pts = randomNormal(3 * 60, 0.3, 2);
  const { levels, tables } = placeTensors(pts, [0.5, 0.25], [0.375, 0.1875]);
  const box: Box = { lo: [-1, -1, -1], hi: [1, 1, 1] };
  const dims: Vec3 = [9, 8, 7];
  const bits = coverageMask(levels, tables, box, dims);
  const at = (a: number, i: number) => box.lo[a]! + (i * (box.hi[a]! - box.lo[a]!)) / (dims[a]! - 1);
  const covered = (x: number, y: number, z: number) => levels.every((lv, l) => latticeCandidates(lv, tables[l]!, [at(0, x), at(1, y), at(2, z)]).length > 0);
  let on = 0;
  for (let z = 0; z < dims[2]; z++)
    for (let y = 0; y < dims[1]; y++)
      for (let x = 0; x < dims[0]; x++) {
        let want = false;
        for (let dz = -1; dz <= 1; dz++)
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              const [xx, yy, zz] = [x + dx, y + dy, z + dz];
              if (xx >= 0 && yy >= 0 && zz >= 0 && xx < dims[0] && yy < dims[1] && zz < dims[2] && covered(xx, yy, zz)) want = true;
            }
        const i = (z * dims[1] + y) * dims[0] + x;
        assert.equal(((bits[i >> 5]! >>> (i & 31)) & 1) === 1, want, `point ${x},${y},${z}`);
        if (want) on++;
      }
  assert.ok(on > 0 && on < dims[0] * dims[1] * dims[2], `${on} points on`);
});

test('resizeLines resamples each stored line on its own', () => {
  const k = 3;
  const lines = 4;
  const src = randomNormal(lines * 5 * k, 1, 8);
  const out = resizeLines(src, k, lines, 5, 9);
  for (let i = 0; i < lines; i++) {
    assert.deepEqual(out.subarray(i * 9 * k, (i + 1) * 9 * k), resizeLine(src.subarray(i * 5 * k, (i + 1) * 5 * k), k, 5, 9));
  }
  assert.deepEqual(resizeLines(src, k, lines, 5, 5), src);
});

test('the tensor overlay projects with the engine camera: a pixel ray hit lands on its pixel', () => {
  const cam = orbitCamera(0.7, 0.4, 64);
  assert.deepEqual(
    projectPoint(cam, [0, 0, 0])!.map((v) => +v.toFixed(6)),
    [32, 32],
    'the orbit target is the image centre',
  );
  let checked = 0;
  for (const [px, py] of [
    [10.5, 20.25],
    [40, 33],
    [31, 50.5],
  ] as const) {
    const hit = demoSurfacePoint(cam, px, py);
    if (!hit) continue;
    const [x, y] = projectPoint(cam, hit)!;
    assert.ok(Math.abs(x - px) < 1e-6 && Math.abs(y - py) < 1e-6, `pixel ${px},${py} -> ${x},${y}`);
    checked++;
  }
  assert.ok(checked >= 2);
  // Behind the camera: not drawn.
  const eye: Vec3 = [cam.c2w[3]!, cam.c2w[7]!, cam.c2w[11]!];
  assert.equal(projectPoint(cam, [eye[0] * 2, eye[1] * 2, eye[2] * 2]), null);
});

test('pruning: tensors whose widened cube holds no occupied mask point go, the rest keep their lines, and the field is unchanged where the mask is occupied', async () => {
  const ctx = await nodeGpu();
  const cloud = randomNormal(3 * 400, 0.45, 21);
  const { levels, tables } = placeTensors(cloud, [0.5, 0.25], [0.375, 0.1875]);
  const settings: FieldSettings = { ...MODEL_PRESETS.strivec, densityComps: [3, 2], appComps: [4, 3], levels };
  const box: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };
  const grid: Vec3 = [20, 20, 20];
  const field = await TensorField.make(ctx, settings, box, grid, 5, new Map(tables.map((t, l) => [`lattice.level${l}`, t] as const)));
  try {
    // A mask occupied only in the half x < -0.2 of a 24³ lattice.
    const dims: Vec3 = [24, 24, 24];
    const bits = new Uint32Array(Math.ceil((24 * 24 * 24) / 32));
    const xAt = (i: number) => box.lo[0] + (i * 3) / 23;
    for (let i = 0; i < 24 ** 3; i++) if (xAt(i % 24) < -0.2) bits[i >> 5]! |= 1 << (i & 31);
    field.setMask({ dims, box, bits });
    const before = await field.arena.download(ctx);
    const beforeModel = { settings, box, grid, values: before };
    const gone = await field.pruneTensors();
    assert.ok(
      gone.every((g) => g > 0),
      `pruned per level: ${gone}`,
    );
    const after = field.settings.levels!;
    for (const [l, lv] of after.entries()) assert.equal(lv.tensors, levels[l]!.tensors - gone[l]!);
    const values = await field.arena.download(ctx);
    // Brute force: a kept tensor's cube, or the mask point just below it, is occupied; a pruned one's is not.
    const step = 3 / 23;
    levels.forEach((lv, l) => {
      const centres = tensorCentres(lv, tables[l]!);
      const keptCentres = tensorCentres(after[l]!, field.lattice[l]!);
      for (let t = 0; t < lv.tensors; t++) {
        const cx = centres[t * 3]!;
        const below = Math.floor((cx - lv.halfSize - box.lo[0]) / step);
        const reaches = xAt(Math.max(0, below)) < -0.2;
        const kept = Array.from({ length: after[l]!.tensors }, (_, j) => j).some((j) => [0, 1, 2].every((a) => keptCentres[j * 3 + a] === centres[t * 3 + a]));
        // (Unless the cube's edge sits on a mask point, where rounding decides.)
        const onPoint = Math.abs((cx - lv.halfSize - box.lo[0]) / step - Math.round((cx - lv.halfSize - box.lo[0]) / step)) < 1e-9;
        if (!onPoint) assert.equal(kept, reaches, `level ${l + 1} tensor ${t} at x ${cx.toFixed(3)}`);
      }
    });
    // Where the mask is occupied, the density is what it was.
    const rnd = xorshift(8);
    for (let i = 0; i < 200; i++) {
      const p: Vec3 = [-1.4 + rnd() * 1.1, -1.4 + rnd() * 2.8, -1.4 + rnd() * 2.8];
      const u = p.map((v, a) => ((v - box.lo[a]!) * (grid[a]! - 1)) / 3) as Vec3;
      const a = refDensityFeature(beforeModel, u);
      const b = refDensityFeature({ settings: field.settings, box, grid, values }, u);
      assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a)), `density at ${p.map((v) => v.toFixed(2))}: ${a} then ${b}`);
    }
    assert.deepEqual(field.pruned, gone);
  } finally {
    field.destroy();
  }
});

test('placing again: kept cells keep their lines, new cells get fresh ones, the rest go, and a level left empty keeps its tensors', async () => {
  const ctx = await nodeGpu();
  const { levels, tables } = placeTensors(randomNormal(3 * 300, 0.45, 4), [0.5, 0.25], [0.375, 0.1875]);
  const settings: FieldSettings = { ...MODEL_PRESETS.strivec, densityComps: [3, 2], appComps: [4, 3], levels };
  const box: Box = { lo: [-1.5, -1.5, -1.5], hi: [1.5, 1.5, 1.5] };
  const field = await TensorField.make(ctx, settings, box, [20, 20, 20], 5, new Map(tables.map((t, l) => [`lattice.level${l}`, t] as const)));
  try {
    const before = await field.arena.download(ctx);
    // Level 1: the cells of a cloud shifted by a quarter unit (some kept, some new, some gone); level 2: none.
    const shifted = randomNormal(3 * 300, 0.45, 4).map((v, i) => (i % 3 === 0 ? v + 0.25 : v));
    const cells = [cellsHolding(levels[0]!, shifted), new Uint8Array(tables[1]!.length)];
    const { added, removed } = await field.occupyCells(cells, 77);
    const old = tables[0]!;
    const count = (f: (i: number) => boolean) => cells[0]!.reduce((n, _, i) => n + (f(i) ? 1 : 0), 0);
    assert.equal(
      added[0],
      count((i) => cells[0]![i] === 1 && old[i] === 0),
    );
    assert.equal(
      removed[0],
      count((i) => cells[0]![i] === 0 && old[i]! > 0),
    );
    assert.ok(added[0]! > 0 && removed[0]! > 0, `level 1: ${added[0]} new, ${removed[0]} gone`);
    assert.deepEqual([added[1], removed[1]], [0, 0], 'the level left empty keeps its tensors');
    assert.deepEqual(field.pruned, removed);
    const after = await field.arena.download(ctx);
    const table = field.lattice[0]!;
    assert.equal(
      field.settings.levels![0]!.tensors,
      count((i) => cells[0]![i] === 1),
    );
    for (const family of ['density', 'app']) {
      const was = before.get(`${family}.level0`)!;
      const now = after.get(`${family}.level0`)!;
      const per = was.length / levels[0]!.tensors;
      assert.equal(now.length, per * field.settings.levels![0]!.tensors);
      for (let i = 0; i < table.length; i++) {
        if (!(table[i]! > 0)) continue;
        const lines = now.subarray((table[i]! - 1) * per, table[i]! * per);
        if (old[i]! > 0) assert.deepEqual(lines, was.subarray((old[i]! - 1) * per, old[i]! * per), `${family}: the kept tensor of cell ${i}`);
        else assert.ok(lines.some((v) => v !== 0) && lines.every((v) => Math.abs(v) < 10 * settings.initStd), `${family}: fresh lines in cell ${i}`);
      }
      assert.deepEqual(after.get(`${family}.level1`), before.get(`${family}.level1`));
    }
  } finally {
    field.destroy();
  }
});
