import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { ParamArena, type Segment } from '../../src/gpu/param-arena.ts';
import { xorshift as rng } from '../../src/gpu/random.ts';
import { GRAD_SCALE } from '../../src/gpu/wgsl.ts';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPS, Adam, type AdamOptions } from '../../src/train/adam.ts';

/** Host mirror of one segment's state, in f64. */
interface RefSeg {
  seg: Segment;
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** One PyTorch Adam step on the reference, given the decoded raw gradients of every segment. */
function refStep(segs: RefSeg[], raw: Map<string, Float64Array>, t: number, lrFor: (s: Segment) => number, opts: AdamOptions): void {
  const bc1 = 1 - ADAM_BETA1 ** t;
  const bc2 = 1 - ADAM_BETA2 ** t;
  for (const r of segs) {
    const g0 = raw.get(r.seg.name)!;
    const active = opts.activeFor?.(r.seg) ?? r.seg.components;
    const l1 = opts.l1For?.(r.seg) ?? 0;
    const lr = lrFor(r.seg);
    for (let i = 0; i < r.seg.count; i++) {
      if (i % r.seg.components >= active) continue;
      const g = g0[i]! * opts.gradScale + l1 * Math.sign(r.p[i]!);
      if (opts.skipZeroFor?.(r.seg) && g === 0) continue;
      r.m[i] = ADAM_BETA1 * r.m[i]! + (1 - ADAM_BETA1) * g;
      r.v[i] = ADAM_BETA2 * r.v[i]! + (1 - ADAM_BETA2) * g * g;
      r.p[i] = r.p[i]! - (lr * (r.m[i]! / bc1)) / (Math.sqrt(r.v[i]! / bc2) + ADAM_EPS);
    }
  }
}

interface Fixture {
  arena: ParamArena;
  refs: RefSeg[];
  /** The arena's initial params and moments, as written (for bit-identity checks). */
  init: { p: Float32Array; m: Float32Array; v: Float32Array };
}

async function fixture(seed: number): Promise<Fixture> {
  const ctx = await nodeGpu();
  const r = rng(seed);
  const arena = new ParamArena();
  const randn = (n: number, s: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * s);
  arena.add('basis', randn(100, 0.3), 'dense');
  arena.add('plane', randn(4 * 30, 0.5), 'factor', 4);
  arena.add('line', randn(3 * 7, 0.5), 'factor', 3);
  arena.allocate(ctx);
  // Non-zero starting moments make "left untouched" observable.
  const m = Float32Array.from({ length: arena.total }, () => (r() * 2 - 1) * 1e-2);
  const v = Float32Array.from({ length: arena.total }, () => r() * 1e-4);
  ctx.write(arena.adamM!, m);
  ctx.write(arena.adamV!, v);
  const p = await ctx.readF32(arena.params!, arena.total);
  const refs = arena.segments.map((seg) => ({
    seg,
    p: Float64Array.from(p.subarray(seg.offset, seg.offset + seg.count)),
    m: Float64Array.from(m.subarray(seg.offset, seg.offset + seg.count)),
    v: Float64Array.from(v.subarray(seg.offset, seg.offset + seg.count)),
  }));
  return { arena, refs, init: { p, m, v } };
}

/**
 * Writes random gradients in each segment's encoding (i32 fixed point for factor segments, f32 for
 * dense) and returns the values the kernel should decode. A `zeroFraction` of entries is exactly 0.
 */
async function writeGrads(arena: ParamArena, r: () => number, zeroFraction: number): Promise<Map<string, Float64Array>> {
  const ctx = await nodeGpu();
  const words = new Uint32Array(arena.total);
  const f32 = new Float32Array(words.buffer);
  const i32 = new Int32Array(words.buffer);
  const out = new Map<string, Float64Array>();
  for (const seg of arena.segments) {
    const vals = new Float64Array(seg.count);
    for (let i = 0; i < seg.count; i++) {
      if (r() < zeroFraction) continue;
      const g = (r() * 2 - 1) * 0.05;
      if (seg.fixedPoint) {
        const q = Math.round(g * GRAD_SCALE);
        i32[seg.offset + i] = q;
        vals[i] = q / GRAD_SCALE;
      } else {
        f32[seg.offset + i] = g;
        vals[i] = f32[seg.offset + i]!;
      }
    }
    out.set(seg.name, vals);
  }
  ctx.write(arena.grads!, words);
  return out;
}

async function compare(fx: Fixture, what: string): Promise<void> {
  const ctx = await nodeGpu();
  const { arena } = fx;
  const p = await ctx.readF32(arena.params!, arena.total);
  const m = await ctx.readF32(arena.adamM!, arena.total);
  const v = await ctx.readF32(arena.adamV!, arena.total);
  const g = await ctx.readU32(arena.grads!, arena.total);
  assert.ok(
    g.every((x) => x === 0),
    `${what}: gradients must be zeroed`,
  );
  for (const r of fx.refs) {
    for (let i = 0; i < r.seg.count; i++) {
      const j = r.seg.offset + i;
      const at = `${what} ${r.seg.name}[${i}]`;
      assert.ok(Math.abs(p[j]! - r.p[i]!) <= 2e-6 + 1e-5 * Math.abs(r.p[i]!), `${at} p = ${p[j]}, want ${r.p[i]}`);
      assert.ok(Math.abs(m[j]! - r.m[i]!) <= 1e-8 + 1e-5 * Math.abs(r.m[i]!), `${at} m = ${m[j]}, want ${r.m[i]}`);
      assert.ok(Math.abs(v[j]! - r.v[i]!) <= 1e-11 + 1e-5 * Math.abs(r.v[i]!), `${at} v = ${v[j]}, want ${r.v[i]}`);
    }
  }
}

test('Adam matches PyTorch over several steps: dense and fixed-point segments, L1, grad scale, bias correction, reset', async () => {
  const ctx = await nodeGpu();
  const fx = await fixture(3);
  const adam = new Adam(ctx);
  const r = rng(77);
  const lrFor = (s: Segment) => (s.group === 'factor' ? 0.02 : 0.05);
  const opts: AdamOptions = { gradScale: 0.5, l1For: (s) => (s.name === 'plane' ? 0.01 / s.count : 0) };
  for (let step = 1; step <= 4; step++) {
    const raw = await writeGrads(fx.arena, r, 0.1);
    const enc = new Encoder(ctx);
    adam.update(enc, fx.arena, lrFor, opts);
    enc.submit();
    assert.equal(adam.step, step);
    refStep(fx.refs, raw, step, lrFor, opts);
    await compare(fx, `step ${step}`);
  }
  // A reset restarts bias correction at t = 1 (the reference does this at every upsample).
  adam.reset();
  assert.equal(adam.step, 0);
  const raw = await writeGrads(fx.arena, r, 0);
  const enc = new Encoder(ctx);
  adam.update(enc, fx.arena, lrFor, opts);
  enc.submit();
  refStep(fx.refs, raw, 1, lrFor, opts);
  await compare(fx, 'after reset');
  fx.arena.destroy(ctx);
});

test('Adam leaves locked components (params and moments) bit-identical but clears their grads', async () => {
  const ctx = await nodeGpu();
  const fx = await fixture(4);
  const adam = new Adam(ctx);
  const r = rng(78);
  const lrFor = () => 0.02;
  // 'plane' (4 components) trains components 0..1, 'line' (3 components) only component 0.
  const opts: AdamOptions = {
    gradScale: 1,
    l1For: (s) => 0.01 / s.count,
    activeFor: (s) => (s.name === 'plane' ? 2 : s.name === 'line' ? 1 : s.components),
  };
  for (let step = 1; step <= 3; step++) {
    const raw = await writeGrads(fx.arena, r, 0);
    const enc = new Encoder(ctx);
    adam.update(enc, fx.arena, lrFor, opts);
    enc.submit();
    refStep(fx.refs, raw, step, lrFor, opts);
    await compare(fx, `locked step ${step}`);
  }
  const p = await ctx.readF32(fx.arena.params!, fx.arena.total);
  const m = await ctx.readF32(fx.arena.adamM!, fx.arena.total);
  const v = await ctx.readF32(fx.arena.adamV!, fx.arena.total);
  let locked = 0;
  let moved = 0;
  for (const seg of fx.arena.segments) {
    const active = opts.activeFor!(seg);
    for (let i = 0; i < seg.count; i++) {
      const j = seg.offset + i;
      if (i % seg.components >= active) {
        locked++;
        assert.ok(Object.is(p[j], fx.init.p[j]) && Object.is(m[j], fx.init.m[j]) && Object.is(v[j], fx.init.v[j]), `${seg.name}[${i}] changed`);
      } else if (p[j] !== fx.init.p[j]) {
        moved++;
      }
    }
  }
  assert.equal(locked, 60 + 14);
  assert.ok(moved > 100, 'active entries must train');
  fx.arena.destroy(ctx);
});

test('Adam with skipZeroFor skips entries whose gradient is exactly zero', async () => {
  const ctx = await nodeGpu();
  const fx = await fixture(5);
  const adam = new Adam(ctx);
  const r = rng(79);
  const lrFor = () => 0.02;
  const opts: AdamOptions = { gradScale: 2, skipZeroFor: () => true };
  let skipped = 0;
  for (let step = 1; step <= 3; step++) {
    const before = {
      p: await ctx.readF32(fx.arena.params!, fx.arena.total),
      m: await ctx.readF32(fx.arena.adamM!, fx.arena.total),
      v: await ctx.readF32(fx.arena.adamV!, fx.arena.total),
    };
    const raw = await writeGrads(fx.arena, r, 0.4);
    const enc = new Encoder(ctx);
    adam.update(enc, fx.arena, lrFor, opts);
    enc.submit();
    refStep(fx.refs, raw, step, lrFor, opts);
    await compare(fx, `masked step ${step}`);
    const p = await ctx.readF32(fx.arena.params!, fx.arena.total);
    const m = await ctx.readF32(fx.arena.adamM!, fx.arena.total);
    const v = await ctx.readF32(fx.arena.adamV!, fx.arena.total);
    for (const seg of fx.arena.segments) {
      const g = raw.get(seg.name)!;
      for (let i = 0; i < seg.count; i++) {
        if (g[i] !== 0) continue;
        const j = seg.offset + i;
        skipped++;
        assert.ok(Object.is(p[j], before.p[j]) && Object.is(m[j], before.m[j]) && Object.is(v[j], before.v[j]), `${seg.name}[${i}] moved on a zero gradient`);
      }
    }
  }
  assert.ok(skipped > 50);
  fx.arena.destroy(ctx);
});
