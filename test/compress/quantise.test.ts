// Quantising planes by importance (src/compress/quantise.ts): the split by cumulative importance,
// the rank blocks, the codebook sizes, and a small VM field quantised and decoded: pruned texels
// zero, kept ones within half an 8-bit step, coded ones equal to their codeword, the rest fp16,
// and every prefix of rank blocks decoding alone to the same leading components.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHalf, toHalf } from '../../src/compress/codecs.ts';
import { codewordCount, DEFAULT_QUANTISE, decodeCompact, FATE, quantiseField, rankBlocks, texelFates } from '../../src/compress/quantise.ts';
import type { FieldSettings } from '../../src/field/settings.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { quantisableVm } from '../fixtures/small-fields.ts';

test('texel fates by cumulative importance: the top share kept, the tail and the unseen pruned, the rest coded', () => {
  // Total 20: in decreasing order 8 (share before 0), 6 (0.4), 3 (0.7), 2 (0.85), 0.99 (0.95), 0.01 (0.9995), 0, 0.
  const importance = [3, 0, 8, 0.01, 2, 6, 0, 0.99];
  const fates = texelFates(importance, 0.6, 0.001);
  assert.deepEqual([...fates], [FATE.coded, FATE.pruned, FATE.kept, FATE.pruned, FATE.coded, FATE.kept, FATE.pruned, FATE.coded]);
  assert.deepEqual([...texelFates([1, 1, 1, 1], 0.5, 0)], [FATE.kept, FATE.kept, FATE.coded, FATE.coded], 'ties by index');
});

test('rank blocks double for slimmable models; plain models take one block; codebooks grow with the texels they code', () => {
  const st = (k: number, slimmable: boolean) => ({ densityComps: [k, k, k], appComps: [3 * k, 3 * k, 3 * k], slimmable }) as FieldSettings;
  assert.deepEqual(rankBlocks(st(16, true)), [
    [0, 1],
    [1, 2],
    [2, 4],
    [4, 8],
    [8, 16],
  ]);
  assert.deepEqual(rankBlocks(st(5, true)), [
    [0, 1],
    [1, 2],
    [2, 4],
    [4, 5],
  ]);
  assert.deepEqual(rankBlocks(st(16, false)), [[0, 16]]);
  assert.equal(codewordCount(10, DEFAULT_QUANTISE), 16);
  assert.equal(codewordCount(16 * 300, DEFAULT_QUANTISE), 256);
  assert.equal(codewordCount(1e9, DEFAULT_QUANTISE), 4096);
});

test('a slimmable VM field quantised and decoded: each fate as promised, and any prefix of rank blocks decodes alone', async () => {
  const ctx = await nodeGpu();
  const { settings, box, grid, values, importance } = quantisableVm();
  const opts = { ...DEFAULT_QUANTISE, texelsPerCodeword: 4, minCodewords: 8 };
  const c = await quantiseField(ctx, { settings, box, grid, values, mask: null }, importance, opts);
  assert.deepEqual(c.rankBlocks, [
    [0, 1],
    [1, 2],
    [2, 4],
  ]);
  assert.equal(c.planes.length, 6);
  const full = decodeCompact(c);
  for (const p of c.planes) {
    const v = values.get(p.segment)!;
    const got = full.get(p.segment)!;
    const k = p.components;
    assert.deepEqual(
      p.blocks.map((b) => [b.lo, b.hi]),
      p.segment.startsWith('density.')
        ? [
            [0, 1],
            [1, 2],
            [2, Math.min(4, k)],
          ]
        : [
            [0, 3],
            [3, 6],
            [6, Math.min(12, k)],
          ],
      `${p.segment}: rank blocks`,
    );
    const counts = [0, 0, 0];
    for (let t = 0; t < p.texels; t++) {
      const f = p.fates[t]!;
      counts[f]!++;
      for (const b of p.blocks) {
        const w = b.hi - b.lo;
        const span = (c: number) => b.kept.scale[c - b.lo]!;
        for (let c = b.lo; c < b.hi; c++) {
          const x = got[t * k + c]!;
          if (f === FATE.pruned) assert.equal(x, 0, `${p.segment} texel ${t}: pruned`);
          if (f === FATE.kept) assert.ok(Math.abs(x - v[t * k + c]!) <= span(c) / 2 + 1e-6, `${p.segment} texel ${t}: within half a step`);
        }
        if (f === FATE.coded) {
          const row = Array.from(got.subarray(t * k + b.lo, t * k + b.hi));
          const words = b.codewords.length / w;
          assert.ok(
            Array.from({ length: words }, (_, i) => b.codewords.subarray(i * w, i * w + w)).some((cw) => cw.every((y, j) => y === row[j])),
            `${p.segment} texel ${t}: a codeword`,
          );
        }
      }
    }
    assert.ok(
      counts.every((n) => n > 0),
      `${p.segment}: every fate occurs (${counts})`,
    );
  }
  for (const [name, v] of c.rest) {
    const src = values.get(name)!;
    for (let i = 0; i < v.length; i++) assert.equal(v[i], fromHalf(toHalf(src[i]!)), `${name}[${i}] fp16`);
  }
  // A stream's prefix: the first b blocks alone give the same leading components.
  for (let b = 1; b <= c.rankBlocks.length; b++) {
    const part = decodeCompact(c, b);
    for (const p of c.planes) {
      const hi = p.blocks[b - 1]!.hi;
      for (let t = 0; t < p.texels; t++) {
        for (let j = 0; j < p.components; j++) {
          assert.equal(part.get(p.segment)![t * p.components + j], j < hi ? full.get(p.segment)![t * p.components + j] : 0);
        }
      }
    }
  }
});
