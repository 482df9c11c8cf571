// The fine-tune after quantisation (src/compress/finetune.ts): the codebook step's kernel against
// its f32 reference on a quantised slimmable VM field (each codeword its texels' weighted mean,
// the texels set to it, pruned texels zero, codewords with no texel unchanged); a compact model
// refit from tuned values keeps its fates and assignments; and a short fine-tune that runs
// through the trainer's module hooks moves the codewords and ends with its texels on them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refCodebookStep } from '../../src/compress/finetune.ref.ts';
import { CodebookFinetune, codebookGroups, finetuneCompact } from '../../src/compress/finetune.ts';
import { DEFAULT_QUANTISE, decodeCompact, FATE, quantiseField } from '../../src/compress/quantise.ts';
import { proceduralDataset } from '../../src/data/procedural.ts';
import { TensorField } from '../../src/field/field.ts';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { quantisableVm } from '../fixtures/small-fields.ts';

async function quantised() {
  const ctx = await nodeGpu();
  const { settings, box, grid, values, importance } = quantisableVm();
  const c = await quantiseField(ctx, { settings, box, grid, values, mask: null }, importance, { ...DEFAULT_QUANTISE, texelsPerCodeword: 2, minCodewords: 8 });
  return { ctx, settings, box, grid, values, importance, c };
}

test('the codebook step on the GPU equals its f32 reference: weighted means to the codewords and back, pruned texels zero', async () => {
  const { ctx, settings, box, grid, values, importance, c } = await quantised();
  // A codeword that codes no texel keeps its value (k-means may leave one so): make one.
  const b0 = c.planes[0]!.blocks[0]!;
  b0.indices = b0.indices.map((i) => (i === 0 ? 1 : i));
  const groups = codebookGroups(c, importance);
  assert.equal(groups.length, 6 * 3, 'six planes in three rank blocks');
  assert.ok(
    groups.some((g) => g.starts.some((s, r) => r < g.starts.length - 2 && g.starts[r + 1] === s)),
    'some codeword codes no texel',
  );
  const field = await TensorField.make(ctx, settings, box, grid, 1, values);
  const tune = new CodebookFinetune(ctx, field, groups);
  try {
    const enc = new Encoder(ctx);
    tune.project(enc);
    enc.submit();
    const got = await field.arena.download(ctx);
    const gotBooks = await tune.codewords();
    const want = new Map([...values].map(([k, v]) => [k, Float32Array.from(v)]));
    const wantBooks = groups.map((g) => Float32Array.from(g.codewords));
    for (const [i, g] of groups.entries()) refCodebookStep(g, want.get(g.segment)!, wantBooks[i]!);
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
    for (const [name, v] of want) {
      const g = got.get(name)!;
      const bad = v.findIndex((x, i) => !close(g[i]!, x));
      assert.equal(bad, -1, `${name}[${bad}]: ${g[bad]} vs the reference's ${v[bad]}`);
    }
    groups.forEach((g, i) => {
      const bad = wantBooks[i]!.findIndex((x, j) => !close(gotBooks[i]![j]!, x));
      assert.equal(bad, -1, `${g.segment} block at ${g.lo}: codeword value ${bad}`);
    });
    // After the step every coded texel is exactly its codeword, every pruned texel 0.
    for (const p of c.planes) {
      const v = got.get(p.segment)!;
      const k = p.components;
      p.blocks.forEach((b, bi) => {
        const book = gotBooks[groups.findIndex((g) => g.segment === p.segment && g.lo === b.lo)]!;
        const w = b.hi - b.lo;
        let coded = 0;
        p.fates.forEach((f, t) => {
          for (let j = 0; j < w; j++) {
            const x = v[t * k + b.lo + j]!;
            if (f === FATE.pruned) assert.equal(x, 0);
            else if (f === FATE.coded) assert.equal(x, book[b.indices[coded]! * w + j], `${p.segment} block ${bi} texel ${t}`);
          }
          if (f === FATE.coded) coded++;
        });
      });
    }
  } finally {
    tune.destroy();
    field.destroy();
  }
});

test('a short fine-tune through the trainer: codewords move, fates and assignments stay, the result decodes to the tuned codewords', async () => {
  const { ctx, values, importance, c } = await quantised();
  const ds = proceduralDataset({ size: 16, train: 6, test: 1 });
  const tuned = await finetuneCompact(ctx, c, values, importance, ds, { iters: 3, batchSize: 128 });
  assert.deepEqual(tuned.rankBlocks, c.rankBlocks);
  let moved = 0;
  tuned.planes.forEach((p, i) => {
    const before = c.planes[i]!;
    assert.deepEqual(p.fates, before.fates);
    p.blocks.forEach((b, j) => {
      assert.deepEqual(b.indices, before.blocks[j]!.indices);
      assert.equal(b.codewords.length, before.blocks[j]!.codewords.length);
      moved += b.codewords.filter((x, n) => x !== before.blocks[j]!.codewords[n]).length;
    });
  });
  assert.ok(moved > 0, 'the fine-tune moved codewords');
  // Decoded, coded texels are the tuned codewords (as the file will hold them).
  const dec = decodeCompact(tuned);
  const p = tuned.planes[0]!;
  const b = p.blocks.at(-1)!;
  const t = p.fates.indexOf(FATE.coded);
  const w = b.hi - b.lo;
  const rank = p.fates.subarray(0, t).filter((f) => f === FATE.coded).length;
  assert.equal(dec.get(p.segment)![t * p.components + b.lo], b.codewords[b.indices[rank]! * w]);
});
