// Compact scene files (version 3, src/formats/scene-file/compact.ts): a quantised model written
// and read back decodes to exactly what the compressor decodes, at every rank prefix, streamed a
// chunk at a time (a SlimmeRF file's first block renders before the rest arrives); and damaged
// files (lying counts, indices past their codebook, non-finite codewords, deflate streams that lie
// about their size, impossible layouts) are refused with a message naming the file and the problem.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import CRC32 from 'crc-32';
import { inflateSync } from 'fflate';
import { type CompactModel, DEFAULT_QUANTISE, decodeCompact, quantiseField } from '../../src/compress/quantise.ts';
import type { Box, Vec3 } from '../../src/field/geometry.ts';
import { fieldSegments } from '../../src/field/layout.ts';
import { MODEL_PRESETS } from '../../src/field/presets.ts';
import { maxRankOf, truncateToRank } from '../../src/field/rank.ts';
import type { FieldSettings } from '../../src/field/settings.ts';
import { sectionSpans } from '../../src/formats/container.ts';
import { SceneError } from '../../src/formats/scene-file/header.ts';
import { readScene, readSceneAsync, SceneReader } from '../../src/formats/scene-file/reader.ts';
import { deflatedPayload } from '../../src/formats/scene-file/sections.ts';
import { exportCompactScene } from '../../src/formats/scene-file/writer.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal, xorshift } from '../../src/gpu/random.ts';
import { fuzzScenes } from '../fixtures/fuzz.ts';
import { withHeader } from '../fixtures/headers.ts';

const box: Box = { lo: [-1, -1, -1], hi: [1, 1, 1] };
const mlp = { mode: 'MLP_Fea', appDim: 6, viewPe: 1, feaPe: 1, featureC: 8 } as const;
const SH = { mode: 'SH', appDim: 27, viewPe: 0, feaPe: 0, featureC: 0 } as const;

const KINDS: Record<string, FieldSettings> = {
  slimmerf: { ...MODEL_PRESETS.slimmerf8, densityComps: [3, 3, 3], appComps: [9, 9, 9], shading: mlp },
  vm: { ...MODEL_PRESETS.vm48, densityComps: [2, 3, 1], appComps: [4, 9, 5], shading: mlp },
  'cp-sh': { ...MODEL_PRESETS.cp384, densityComps: [5], appComps: [15], shading: SH },
};

/** A random model of these settings quantised with random importance (a third of the texels unseen), with an alpha mask. */
async function compactModel(settings: FieldSettings, grid: Vec3 = [9, 7, 6], seed = 1): Promise<CompactModel> {
  const segs = fieldSegments(settings, box, grid);
  const values = new Map(segs.map((s, i) => [s.name, randomNormal(s.count, 0.3, seed + i)] as const));
  const rng = xorshift(seed);
  const importance = new Map(
    segs.filter((s) => s.plane).map((s) => [s.name, Float32Array.from({ length: s.count / s.components }, () => (rng() < 0.3 ? 0 : rng() ** 3))] as const),
  );
  const mask = { dims: [5, 4, 3] as Vec3, box, bits: Uint32Array.from({ length: 2 }, () => Math.floor(rng() * 2 ** 32)) };
  return quantiseField(await nodeGpu(), { settings, box, grid, values, mask }, importance, { ...DEFAULT_QUANTISE, texelsPerCodeword: 2, minCodewords: 4 });
}

const same = (a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string) => {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: tensors`);
  for (const [name, v] of a) assert.deepEqual(b.get(name), v, `${what}: ${name}`);
};

for (const kind of Object.keys(KINDS)) {
  test(`${kind}: a compact file decodes bit for bit to the compressor's model, at every rank, streamed in chunks`, async () => {
    const c = await compactModel(KINDS[kind]!);
    const file = exportCompactScene(c, { source: 'test' });
    assert.equal(new DataView(file.buffer).getUint16(8, true), 3);
    const { header, model } = readScene(file, 'c.slimscene');
    assert.equal(header.precision, 'compact');
    same(decodeCompact(c), model.values, 'whole file');
    assert.deepEqual(model.mask, c.mask);
    // Streamed 97 bytes at a time: the ranks ready grow block by block, and each prefix is the truncated model.
    const ranks = maxRankOf(c.settings);
    const reader = new SceneReader('c.slimscene', file.length);
    const seen: number[] = [];
    for (let at = 0; at < file.length; at += 97) {
      reader.push(file.subarray(at, at + 97));
      const r = reader.ranksReady;
      if (r > (seen.at(-1) ?? 0)) {
        seen.push(r);
        for (let k = 1; k <= r; k++) {
          const got = reader.model(k);
          assert.equal(got.rank, k);
          same(truncateToRank(c.settings, decodeCompact(c), k).values, got.values, `rank ${k} with ${r} ready`);
        }
      }
    }
    reader.finish();
    assert.deepEqual(
      seen,
      c.rankBlocks.map(([, end]) => end),
    );
    assert.equal(seen.at(-1), ranks);
    // Pushed through the native inflater (DecompressionStream), in chunks: the same model.
    const native = new SceneReader('c.slimscene', file.length);
    for (let at = 0; at < file.length; at += 997) await native.pushAsync(file.subarray(at, at + 997));
    native.finish();
    same(decodeCompact(c), native.model().values, 'native inflater');
  });
}

test('a compact SlimmeRF file renders rank 1 from its first block, before the rest has arrived', async () => {
  const c = await compactModel(KINDS.slimmerf!, [12, 10, 9]);
  const file = exportCompactScene(c);
  const reader = new SceneReader('c.slimscene', file.length);
  let at = 0;
  while (reader.ranksReady === 0) {
    reader.push(file.subarray(at, at + 64));
    at += 64;
  }
  assert.equal(reader.ranksReady, 1);
  // Sections: the mask, the head, then blocks 1, 2 and 3 (ranks 1, 2, 3).
  const [block2] = sectionsOf(file)[3]!;
  assert.ok(at <= block2 + 64, `rank 1 after ${at} bytes, block 2 starts at ${block2} of ${file.length}`);
  assert.equal(reader.model().rank, 1);
});

/** The file's sections: [offset of the length field, payload length]. */
function sectionsOf(file: Uint8Array): [number, number][] {
  return sectionSpans(file).map((s) => [s.at, s.length]);
}

/** The file with section `i`'s payload replaced (its length and CRC fixed, so only the payload's own checks can refuse it). */
function withPayload(file: Uint8Array, i: number, payload: Uint8Array): Uint8Array {
  const [at, len] = sectionsOf(file)[i]!;
  const out = new Uint8Array(file.length - len + payload.length);
  out.set(file.subarray(0, at));
  const dv = new DataView(out.buffer);
  dv.setUint32(at, payload.length, true);
  dv.setUint32(at + 4, CRC32.buf(payload) >>> 0, true);
  out.set(payload, at + 8);
  out.set(file.subarray(at + 8 + len), at + 8 + payload.length);
  return out;
}

/** The file with section `i`'s inflated bytes edited, deflated again. */
function withRaw(file: Uint8Array, i: number, edit: (raw: Uint8Array) => Uint8Array | undefined): Uint8Array {
  const [at, len] = sectionsOf(file)[i]!;
  const p = file.subarray(at + 8, at + 8 + len);
  const raw = inflateSync(p.subarray(4, 4 + new DataView(p.buffer, p.byteOffset).getUint32(0, true)));
  return withPayload(file, i, deflatedPayload(edit(raw) ?? raw));
}

test('damaged and hostile compact files are refused with a message naming the file and the problem', async () => {
  const c = await compactModel(KINDS.slimmerf!);
  const good = exportCompactScene(c);
  // Read whole (fflate) and pushed through the native inflater (DecompressionStream): the same refusals.
  const expect = async (bytes: Uint8Array, pattern: RegExp) => {
    const named = (e: unknown) => e instanceof SceneError && /^bad\.slimscene: /.test(e.message) && pattern.test(e.message);
    assert.throws(() => readScene(bytes, 'bad.slimscene'), named, String(pattern));
    await assert.rejects(readSceneAsync(bytes, 'bad.slimscene'), named, `${pattern} (native inflater)`);
  };
  // Sections: 0 the alpha mask, 1 the head, 2.. the rank blocks.
  const plane0 = c.planes[0]!;
  // The first plane's fates are the head's bytes after the shading weights: turn a pruned texel into a coded one.
  const mlpBytes = fieldSegments(c.settings, c.box, c.grid)
    .filter((s) => s.name.startsWith('mlp.'))
    .reduce((n, s) => n + 2 * s.count, 0);
  const pruned = plane0.fates.indexOf(0);
  await expect(
    withRaw(good, 1, (raw) => {
      raw[mlpBytes + (pruned >> 2)]! |= 1 << (2 * (pruned & 3));
    }),
    /shading weights and texel fates: density\.plane0: \d+ coded and \d+ kept texels, the header says \d+ and \d+/,
  );
  await expect(
    withRaw(good, 1, (raw) => {
      raw[mlpBytes + (pruned >> 2)]! |= 3 << (2 * (pruned & 3));
    }),
    /density\.plane0: a texel fate of 3/,
  );
  // Rank block 1 starts with density.plane0's codewords (fp16), then its packed indices.
  await expect(
    withRaw(good, 2, (raw) => {
      raw[1] = 0x7c; // +Infinity
      raw[0] = 0;
    }),
    /rank block 1 \(ranks 1\): density\.plane0's codebook holds a non-finite value/,
  );
  // A codebook one codeword shorter than its indices reach (the writer does not check; the reader must).
  const b0 = plane0.blocks[0]!;
  const w0 = b0.hi - b0.lo;
  const k0 = b0.codewords.length / w0;
  assert.ok(k0 >= 4 && b0.indices.includes(k0 - 1), `a codebook of ${k0} whose last codeword is used`);
  const short: CompactModel = {
    ...c,
    planes: c.planes.map((p, i) =>
      i === 0 ? { ...p, blocks: p.blocks.map((b, j) => (j === 0 ? { ...b, codewords: b.codewords.subarray(0, (k0 - 1) * w0) } : b)) } : p,
    ),
  };
  await expect(exportCompactScene(short), new RegExp(`rank block 1 \\(ranks 1\\): density\\.plane0: index ${k0 - 1} past its codebook of ${k0 - 1}`));
  // A header that lies about a codebook's size makes the section's length disagree.
  await expect(
    withHeader(good, (h) => {
      (h.compact as { planes: { codewords: number[] }[] }).planes[0]!.codewords[0]!--;
    }),
    /rank block 1 \(ranks 1\): (corrupt compressed data|the data inflate to \d+ bytes, expected \d+)/,
  );
  await expect(
    withPayload(
      good,
      2,
      (() => {
        const [at, len] = sectionsOf(good)[2]!;
        const p = good.slice(at + 8, at + 8 + len);
        new DataView(p.buffer).setUint32(0, len, true);
        return p;
      })(),
    ),
    /rank block 1 \(ranks 1\): compressed length \d+ runs past the section/,
  );
  await expect(
    withRaw(good, 2, (raw) => raw.subarray(0, raw.length - 1)),
    /rank block 1 \(ranks 1\): the data inflate to \d+ bytes, expected \d+/,
  );
  await expect(
    withHeader(good, (h) => {
      (h.compact as { rankBlocks: number[][] }).rankBlocks[1] = [2, 2];
    }),
    /compact\.rankBlocks\[1\] must start at rank 1 and end after it/,
  );
  await expect(
    withHeader(good, (h) => {
      (h.compact as { planes: { segment: string }[] }).planes[0]!.segment = 'app.plane0';
    }),
    /compact\.planes\[0\] is "app\.plane0", expected density\.plane0/,
  );
  await expect(
    withHeader(good, (h) => {
      (h.compact as { planes: { coded: number }[] }).planes[1]!.coded = 1e9;
    }),
    /compact\.planes\[1\]\.coded/,
  );
  await expect(
    withHeader(good, (h) => {
      (h.compact as { planes: { codewords: number[] }[] }).planes[0]!.codewords[0] = 0;
    }),
    /compact\.planes\[0\]: block 1 needs a codebook/,
  );
  await expect(
    withHeader(good, (h) => {
      delete h.compact;
    }),
    /compact must be an object|compact/,
  );
  // A version 2 reader's file cannot be compact.
  const v2 = good.slice();
  new DataView(v2.buffer).setUint16(8, 2, true);
  await expect(v2, /precision must be one of fp32, fp16, int8 \(compact files are version 3, this one says 2\)/);
});

test('randomized mutations of compact files only ever give a clean SceneError or a valid, finite model', async () => {
  const sources = [exportCompactScene(await compactModel(KINDS.slimmerf!, [6, 5, 4])), exportCompactScene(await compactModel(KINDS.vm!, [6, 5, 4], 3))];
  const { rejected } = fuzzScenes(sources, 3000, 77);
  assert.ok(rejected > 2700, `${rejected} of 3000 rejected`);
});
