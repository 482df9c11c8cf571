// The compact scene format: round trips for every model kind and precision, the prefix-is-valid
// property, the streaming reader fed a byte at a time, a corpus of damaged files and a randomized
// mutation test, and identical pixels after an fp32 round trip through the GPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import CRC32 from 'crc-32';
import { deflateSync } from 'fflate';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { TensorField } from '../../src/field/field.ts';
import type { Box, Vec3 } from '../../src/field/geometry.ts';
import { fieldSegments } from '../../src/field/layout.ts';
import { placeTensors } from '../../src/field/layouts/strivec-lattice.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import { maxRankOf, truncateToRank } from '../../src/field/rank.ts';
import type { FieldSettings } from '../../src/field/settings.ts';
import { type Precision, SceneError, type SceneModel } from '../../src/formats/scene-file/header.ts';
import { readScene, SceneReader } from '../../src/formats/scene-file/reader.ts';
import { exportScene, sceneFileSize } from '../../src/formats/scene-file/writer.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal, xorshift } from '../../src/gpu/random.ts';
import { ViewRenderer } from '../../src/render/view-renderer.ts';
import { fuzzScenes } from '../fixtures/fuzz.ts';
import { withHeader } from '../fixtures/headers.ts';

const box: Box = { lo: [-1, -1, -1], hi: [1, 1, 1] };
const mlp = { mode: 'MLP_Fea', appDim: 6, viewPe: 1, feaPe: 1, featureC: 8 } as const;

// A Strivec model's local tensors around a random cloud (two levels).
const strivecLattice = placeTensors(randomNormal(3 * 30, 0.3, 12), [0.6, 0.3], [0.45, 0.225]);

const KINDS: Record<string, FieldSettings> = {
  vm: { ...MODEL_PRESETS.vm48, shading: mlp },
  strivec: { ...MODEL_PRESETS.strivec, densityComps: [3, 2], appComps: [6, 4], levels: strivecLattice.levels, shading: mlp },
  slimmerf: { ...MODEL_PRESETS.slimmerf8, densityComps: [3, 3, 3], appComps: [9, 9, 9], shading: mlp },
  'vm-uneven': { ...MODEL_PRESETS.vm48, densityComps: [2, 3, 1], appComps: [4, 9, 5], shading: mlp },
  cp: { ...MODEL_PRESETS.cp384, densityComps: [5], appComps: [15], shading: mlp },
  'vm-sh': { ...MODEL_PRESETS.vm48, shading: { mode: 'SH', appDim: 27, viewPe: 0, feaPe: 0, featureC: 0 } },
};

function randomModel(settings: FieldSettings, grid: Vec3 = [7, 6, 5], seed = 1): Omit<SceneModel, 'rank'> {
  const values = new Map<string, Float32Array>();
  for (const s of fieldSegments(settings, box, grid)) {
    values.set(s.name, s.group === 'index' ? strivecLattice.tables[Number(s.name.at(-1))]! : randomNormal(s.count, 0.3, seed++));
  }
  const dims: Vec3 = [5, 4, 3];
  const rnd = xorshift(seed);
  const bits = Uint32Array.from({ length: Math.ceil(60 / 32) }, () => Math.floor(rnd() * 2 ** 32));
  return { settings, box, grid, values, mask: { dims, box, bits } };
}

function maxError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!));
  return e;
}

for (const [kind, settings] of Object.entries(KINDS)) {
  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    test(`${kind} ${precision}: round trip, predicted size, every prefix of rank groups`, () => {
      const m = randomModel(settings);
      const bytes = exportScene(m, { precision, info: { note: 'test' } });
      const tables = settings.levels?.map((_, l) => m.values.get(`lattice.level${l}`)!) ?? [];
      // Exact for fp32 and fp16; 8-bit rank groups are deflated, so the prediction is a bound.
      const predicted = sceneFileSize(m.settings, m.box, m.grid, m.mask, { precision, info: { note: 'test' } }, tables);
      assert.equal(predicted.exact, precision !== 'int8');
      if (predicted.exact) assert.equal(bytes.length, predicted.bytes);
      else assert.ok(bytes.length <= predicted.bytes, `${bytes.length} <= ${predicted.bytes}`);
      const { header, model } = readScene(bytes, 'a.slimscene');
      assert.equal(header.ranks, maxRankOf(settings));
      assert.deepEqual(model.mask!.bits, m.mask!.bits);
      for (const [name, v] of m.values) {
        const w = model.values.get(name)!;
        const maxAbs = v.reduce((x, y) => Math.max(x, Math.abs(y)), 0);
        // fp16 keeps 11 significant bits (the shading weights are fp16 in fp16 and int8 files);
        // 8 bits with per-component offset and scale are off by at most half a step of the range.
        const half = maxAbs * 2 ** -11 + 2 ** -25;
        // Strivec's lattice tables are exact at every precision (they are stored as bits).
        const tol =
          precision === 'fp32' || name.startsWith('lattice.') ? 0 : precision === 'fp16' || name.startsWith('mlp.') ? half : (2 * maxAbs) / 510 + 1e-6;
        assert.ok(maxError(v, w) <= tol, `${name}: error ${maxError(v, w)} > ${tol}`);
      }
      // Any prefix of groups is the truncated model (exact in fp32).
      const reader = new SceneReader('a.slimscene');
      reader.push(bytes);
      for (let r = 1; r <= header.ranks; r++) {
        const prefix = reader.model(r);
        const want = truncateToRank(settings, model.values, r);
        assert.deepEqual(prefix.settings, want.settings);
        for (const [name, v] of want.values) assert.deepEqual(prefix.values.get(name), v, `rank ${r}: ${name}`);
      }
    });
  }
}

test('exporting at rank k equals the first k groups of the full file, and is smaller', () => {
  const m = randomModel(KINDS.slimmerf!);
  const full = readScene(exportScene(m, { precision: 'fp32' }), 'full');
  const reader = new SceneReader('full');
  reader.push(exportScene(m, { precision: 'fp32' }));
  for (const k of [1, 2]) {
    const bytes = exportScene(m, { precision: 'fp32', rank: k });
    assert.ok(bytes.length < exportScene(m, { precision: 'fp32' }).length);
    const slim = readScene(bytes, 'slim').model;
    assert.equal(slim.rank, k);
    for (const [name, v] of reader.model(k).values) assert.deepEqual(slim.values.get(name), v, name);
  }
  assert.equal(full.model.rank, 3);
});

test('fp16 is at most half and int8 at most a quarter of fp32 (plus the small fixed parts)', () => {
  const m = randomModel({ ...KINDS.vm!, shading: { ...mlp, featureC: 4 } }, [24, 24, 24]);
  const size = (p: Precision) => exportScene(m, { precision: p }).length;
  const [f32, f16, i8] = [size('fp32'), size('fp16'), size('int8')];
  assert.ok(f16 <= f32 / 2 + 2048, `fp16 ${f16} vs fp32 ${f32}`);
  assert.ok(i8 <= f32 / 4 + 2048, `int8 ${i8} vs fp32 ${f32}`);
});

test('version 1 and 2 files still read, to the same model as version 3', () => {
  const m = randomModel(KINDS.slimmerf!, [6, 5, 4]);
  const v1 = exportScene(m, { precision: 'int8', version: 1 });
  const v2 = exportScene(m, { precision: 'int8', version: 2 });
  const v3 = exportScene(m, { precision: 'int8' });
  assert.deepEqual(
    [v1, v2, v3].map((f) => new DataView(f.buffer).getUint16(8, true)),
    [1, 2, 3],
  );
  // Version 3 changes nothing for value precisions: only the version field differs from 2.
  assert.deepEqual(v3.subarray(10), v2.subarray(10));
  const b = readScene(v3, 'v3').model;
  for (const f of [v1, v2]) for (const [name, v] of readScene(f, 'old').model.values) assert.deepEqual(b.values.get(name), v, name);
});

test('the streaming reader fed one byte at a time renders as soon as the first group arrives', () => {
  const m = randomModel(KINDS.slimmerf!, [10, 10, 10]);
  const bytes = exportScene(m, { precision: 'fp16' });
  const whole = readScene(bytes, 'whole').model;
  const reader = new SceneReader('stream');
  const readyAt: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const before = reader.ranksReady;
    reader.push(bytes.subarray(i, i + 1));
    if (reader.ranksReady > before) {
      readyAt.push(i + 1);
      const partial = reader.model();
      assert.equal(partial.rank, reader.ranksReady);
    }
    if (i < bytes.length - 1) assert.equal(reader.complete, false);
  }
  reader.finish();
  assert.equal(readyAt.length, 3);
  assert.equal(readyAt.at(-1), bytes.length);
  assert.ok(readyAt[0]! < bytes.length / 2, `first group usable after ${readyAt[0]} of ${bytes.length} bytes`);
  for (const [name, v] of whole.values) assert.deepEqual(reader.model().values.get(name), v);
});

/** Replaces section `index` (0: the alpha mask) with `payload`, recomputing its length and CRC. */
function withMaskPayload(bytes: Uint8Array, payload: Uint8Array, index = 0): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 20 + dv.getUint32(12, true);
  for (let i = 0; i < index; i++) at += 8 + dv.getUint32(at, true);
  const old = dv.getUint32(at, true);
  const out = new Uint8Array(bytes.length - old + payload.length);
  out.set(bytes.subarray(0, at));
  out.set(payload, at + 8);
  out.set(bytes.subarray(at + 8 + old), at + 8 + payload.length);
  const odv = new DataView(out.buffer);
  odv.setUint32(at, payload.length, true);
  odv.setUint32(at + 4, CRC32.buf(payload) >>> 0, true);
  return out;
}

test('damaged and hostile files are refused with a message naming the file and the problem', () => {
  const m = randomModel(KINDS.vm!);
  const good = exportScene(m, { precision: 'fp32' });
  const expect = (bytes: Uint8Array, pattern: RegExp) => {
    assert.throws(
      () => readScene(bytes, 'bad.slimscene'),
      (e: unknown) => e instanceof SceneError && /^bad\.slimscene: /.test(e.message) && pattern.test(e.message),
      String(pattern),
    );
  };
  expect(new Uint8Array(0), /too short/);
  expect(good.subarray(0, 30), /truncated inside the header/);
  expect(good.subarray(0, good.length - 5), /header describes \d+ bytes but the file has \d+: truncated/);
  expect(new Uint8Array([...good, 0, 0, 0, 0]), /but the file has \d+: trailing bytes/);
  // The streaming reader (no known size) reports the same.
  const stream = new SceneReader('bad.slimscene');
  stream.push(good.subarray(0, good.length - 5));
  assert.throws(() => stream.finish(), /truncated: \d+ of \d+ bytes \(3 of 4 rank groups complete\)/);
  assert.throws(() => new SceneReader('bad.slimscene').push(new Uint8Array([...good, 0])), /1 bytes past the end/);
  const magic = good.slice();
  magic[0] = 0x58;
  expect(magic, /not a Slimfield scene/);
  const version = good.slice();
  version[8] = 9;
  expect(version, /version 9 is not supported/);
  const headFlip = good.slice();
  headFlip[40]! ^= 0x10;
  expect(headFlip, /header checksum mismatch/);
  const bodyFlip = good.slice();
  bodyFlip[good.length - 3]! ^= 1;
  expect(bodyFlip, /rank group 4: checksum mismatch/);
  expect(
    withHeader(good, (h) => (h.grid = [4096, 4096, 4096])),
    /header describes \d+ bytes but the file has \d+: truncated, or absurd sizes/,
  );
  expect(
    withHeader(good, (h) => {
      const st = h.settings as Record<string, unknown>;
      st.densityComps = [4096, 4096, 4096];
      st.appComps = [4096, 4096, 4096];
      h.ranks = 4096;
      h.grid = [4096, 4096, 4096];
    }),
    /describes \d+ bytes: absurd sizes/,
  );
  expect(
    withHeader(good, (h) => (h.grid = [1e9, 2, 2])),
    /grid\[0\] must be a number in/,
  );
  expect(
    withHeader(good, (h) => ((h.settings as Record<string, unknown>).densityComps = [4, 4])),
    /densityComps must list 3 integers/,
  );
  expect(
    withHeader(good, (h) => (h.ranks = 3)),
    /ranks 3 does not match/,
  );
  expect(
    withHeader(good, (h) => (h.precision = 'fp8')),
    /precision must be one of/,
  );
  expect(
    withHeader(good, (h) => (h.box = { lo: [0, 0, 0], hi: [0, 1, 1] })),
    /box is empty or inverted/,
  );
  expect(
    withHeader(good, (h) => (h.format = 'x')),
    /format "x"/,
  );
  // Strivec: the lattice in the header must be sane and agree with the stored cells.
  const sv = exportScene(randomModel(KINDS.strivec!), { precision: 'fp32' });
  assert.ok(readScene(sv, 'ok').model.settings.levels);
  const level = (edit: (l: Record<string, unknown>) => void) => withHeader(sv, (h) => edit((h.settings as { levels: Record<string, unknown>[] }).levels[1]!));
  expect(
    level((l) => (l.halfSize = 5)),
    /levels\[1\]\.halfSize must be a number in/,
  );
  expect(
    level((l) => (l.dims = [1e6, 1e6, 2])),
    /levels\[1\]\.dims describe more than/,
  );
  expect(
    level((l) => (l.origin = [0, Infinity, 0])),
    /levels\[1\]\.origin\[1\] must be a number/,
  );
  expect(
    withHeader(sv, (h) => ((h.settings as Record<string, unknown>).levels = [])),
    /settings\.levels must list 1 to 3/,
  );
  expect(
    level((l) => (l.tensors = (l.tensors as number) - 1)),
    /trailing bytes/,
  );
  // The lattice section (after the mask) with one more occupied cell than the header's tensors.
  const words = strivecLattice.levels.map((l) => Math.ceil((l.dims[0] * l.dims[1] * l.dims[2]) / 32));
  const bits = new Uint32Array(words[0]! + words[1]!);
  strivecLattice.tables.forEach((t, l) => {
    t.forEach((v, i) => {
      if (v) bits[(l ? words[0]! : 0) + (i >> 5)]! |= 1 << (i & 31);
    });
  });
  const free = strivecLattice.tables[1]!.indexOf(0);
  bits[words[0]! + (free >> 5)]! |= 1 << (free & 31);
  const z = deflateSync(new Uint8Array(bits.buffer));
  const payload = new Uint8Array(4 + Math.ceil(z.length / 4) * 4);
  new DataView(payload.buffer).setUint32(0, z.length, true);
  payload.set(z, 4);
  expect(withMaskPayload(sv, payload, 1), /tensor lattice: level 2: \d+ occupied cells, the header says \d+ tensors/);
  // A NaN payload with a valid checksum.
  const nan = good.slice();
  const dv = new DataView(nan.buffer);
  const headLen = dv.getUint32(12, true);
  let at = 20 + headLen;
  at += 8 + dv.getUint32(at, true); // mask
  at += 8 + dv.getUint32(at, true); // shading weights
  const len = dv.getUint32(at, true);
  dv.setFloat32(at + 8, NaN, true);
  dv.setUint32(at + 4, CRC32.buf(nan.subarray(at + 8, at + 8 + len)) >>> 0, true);
  expect(nan, /rank group 1: density\.plane0 holds a non-finite value/);
  // The deflated alpha mask: garbage, a compressed length past the section, a bomb, padding.
  const garbage = new Uint8Array([8, 0, 0, 0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8]);
  expect(withMaskPayload(good, garbage), /alpha mask: corrupt compressed data/);
  expect(withMaskPayload(good, new Uint8Array([200, 0, 0, 0, 1, 2, 3, 4])), /alpha mask: compressed length 200 runs past the section/);
  const long = withMaskPayload(good, new Uint8Array(4096));
  expect(long, /trailing bytes/);
  const headEnd = 20 + new DataView(long.buffer).getUint32(12, true);
  assert.throws(
    () => new SceneReader('bad.slimscene').push(long.subarray(0, headEnd + 8)),
    /alpha mask: section length 4096 is outside what the header allows \(8 to 36\)/,
  );
  const bomb = withHeader(good, (h) => ((h.mask as { dims: number[] }).dims = [1024, 1024, 512]));
  expect(withMaskPayload(bomb, new Uint8Array([4, 0, 0, 0, 3, 0, 0, 0])), /alpha mask: 4 compressed bytes cannot hold 67108864 bytes/);
  const padded = withMaskPayload(
    good,
    (() => {
      const dv = new DataView(good.buffer, good.byteOffset);
      const at = 20 + dv.getUint32(12, true);
      const p = good.slice(at + 8, at + 8 + dv.getUint32(at, true));
      p[p.length - 1] = 7;
      return p;
    })(),
  );
  assert.throws(() => readScene(padded, 'bad.slimscene'), /alpha mask: (non-zero padding|corrupt compressed data|the data inflate)/);
  // Values fp16 cannot hold are refused at export, not silently clipped.
  const big = randomModel(KINDS.vm!);
  big.values.get('app.line1')![3] = 1e6;
  assert.throws(() => exportScene(big, { precision: 'fp16' }), /beyond fp16's range: export as fp32/);
});

test('randomized mutations only ever give a clean SceneError or a valid, finite model', () => {
  const sources = [
    ...(['fp32', 'fp16', 'int8'] as Precision[]).map((p) => exportScene(randomModel(KINDS.slimmerf!, [5, 4, 4]), { precision: p })),
    exportScene(randomModel(KINDS.strivec!, [5, 4, 4]), { precision: 'fp16' }),
  ];
  const { rejected, accepted } = fuzzScenes(sources, 6000, 1234);
  // Every byte is under a checksum or checked against the header, so nearly all are rejected;
  // a mutation that writes the byte already there leaves a valid file.
  assert.ok(rejected > 5500, `${rejected} rejected, ${accepted} accepted`);
});

test('an fp32 scene reopened renders the same pixels as the model it came from', async () => {
  const ctx = await nodeGpu();
  const ds = proceduralDataset({ size: 12, train: 2, test: 1 });
  const settings: FieldSettings = { ...KINDS.slimmerf!, densityShift: 0, initStd: 0.6 };
  const field = new TensorField(ctx, settings, box, [9, 8, 7], 5);
  const bits = new Uint32Array(Math.ceil(64 / 32)).fill(0xffffffff);
  field.setMask({ dims: [4, 4, 4], box, bits });
  const values = await field.arena.download(ctx);
  const cam = ds.splits.test!.cameras[0]!;
  const r1 = new ViewRenderer(ctx, field, ds.nearFar, 64);
  const before = await r1.render(cam, 1);
  const { model } = readScene(exportScene({ settings, box, grid: field.grid, values, mask: field.mask }, { precision: 'fp32' }), 'x');
  const back = new TensorField(ctx, model.settings, model.box, model.grid, 99, model.values);
  back.setMask(model.mask);
  const r2 = new ViewRenderer(ctx, back, ds.nearFar, 64);
  const after = await r2.render(cam, 1);
  assert.deepEqual(after.rgb, before.rgb);
  for (const x of [r1, r2]) x.destroy();
  field.destroy();
  back.destroy();
});
