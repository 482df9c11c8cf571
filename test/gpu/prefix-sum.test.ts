// The exclusive prefix sum against a plain loop, across the sizes where its runs split unevenly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { exclusivePrefixSum } from '../../src/gpu/prefix-sum.ts';
import { xorshift } from '../../src/gpu/random.ts';

for (const n of [1, 7, 255, 256, 257, 4096, 5000]) {
  test(`exclusive prefix sum of ${n} counts, in place, with the total`, async () => {
    const ctx = await nodeGpu();
    const next = xorshift(n);
    const counts = Uint32Array.from({ length: n }, () => Math.floor(next() * 300));
    const values = ctx.upload('test.values', counts);
    const total = ctx.upload('test.total', new Uint32Array([7, 7, 7, 7]));
    const enc = new Encoder(ctx);
    exclusivePrefixSum(ctx, enc, values, n, total, 2);
    enc.submit();
    const want = new Uint32Array(n);
    let run = 0;
    for (let i = 0; i < n; i++) {
      want[i] = run;
      run += counts[i]!;
    }
    assert.deepEqual(await ctx.readU32(values, n), want);
    assert.deepEqual([...(await ctx.readU32(total, 4))], [7, 7, run, 7], 'the total goes to its slot only');
    ctx.destroy(values);
    ctx.destroy(total);
  });
}
