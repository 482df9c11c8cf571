import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LimitError } from '../../src/gpu/context.ts';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { ParamArena } from '../../src/gpu/param-arena.ts';
import { xorshift as rng } from '../../src/gpu/random.ts';
import { type MlpWeights, shadingForwardRef } from '../../src/shading/shading.ref.ts';
import { mlpInputWidth, type ShadingConfig, ShadingModule } from '../../src/shading/shading.ts';

const MLP_NAMES = ['mlp.w0', 'mlp.b0', 'mlp.w1', 'mlp.b1', 'mlp.w2', 'mlp.b2'] as const;

interface Run {
  cfg: ShadingConfig;
  n: number;
  feat: Float32Array;
  dirs: Float32Array;
  /** Loss weights: L = Σ r · rgb (the pad channel holds junk that must be ignored). */
  r: Float32Array;
  weights: MlpWeights | null;
  rgb: Float32Array;
  grads: Map<string, Float32Array>;
  dFeat: Float32Array;
}

/**
 * Runs forward + backward on the GPU for random inputs and reads everything back. With `onGpu` the
 * rows are a chunk of a longer list whose length only the GPU holds: directions and colours start
 * at row 16 of larger buffers, and the rows at most n + 5 (the chunk's capacity).
 */
async function runGpu(cfg: ShadingConfig, n: number, seed: number, onGpu = false): Promise<Run> {
  const ctx = await nodeGpu();
  const r = rng(seed);
  const arena = new ParamArena();
  // A factor segment in front makes sure the module uses segment offsets, not 0.
  arena.add('pad.factor', new Float32Array(70), 'factor', 1);
  const sm = new ShadingModule(ctx, cfg, arena, seed);
  arena.allocate(ctx);
  sm.ensureCapacity(n + 5);

  const A = cfg.appDim;
  const feat = Float32Array.from({ length: n * A }, () => (r() * 2 - 1) * 1.5);
  const dirs = new Float32Array(n * 4);
  for (let s = 0; s < n; s++) {
    const v = [r() * 2 - 1, r() * 2 - 1, r() * 2 - 1];
    const len = Math.hypot(...v) || 1;
    dirs.set([v[0]! / len, v[1]! / len, v[2]! / len, 123], s * 4);
  }
  const rw = Float32Array.from({ length: n * 4 }, (_, i) => (i % 4 === 3 ? 1e3 : r() * 2 - 1));

  const featBuf = ctx.upload('feat', feat);
  const first = onGpu ? 16 : 0;
  const atFirst = (data: Float32Array) => {
    const all = new Float32Array((first + n + 5) * 4).fill(-9);
    all.set(data, first * 4);
    return all;
  };
  const dirsBuf = ctx.upload('dirs', atFirst(dirs));
  const dRgbBuf = ctx.upload('dRgb', atFirst(rw));
  const rgbBuf = ctx.upload('rgb', atFirst(new Float32Array(n * 4).fill(-7)));
  const counts = ctx.upload('counts', new Uint32Array([first + n]));
  const dFeatBuf = ctx.upload('dFeat', new Float32Array(n * A).fill(-7));
  // Junk in the gradient slots: backward must overwrite, not accumulate.
  ctx.write(arena.grads!, new Float32Array(arena.total).fill(3.5));

  const enc = new Encoder(ctx);
  const rows = onGpu ? { counts, word: 0, first, max: n + 5 } : n;
  const view = (buffer: GPUBuffer) => ({ buffer, row: first });
  sm.forward(enc, rows, featBuf, view(dirsBuf), view(rgbBuf));
  sm.backward(enc, rows, view(rgbBuf), view(dRgbBuf), dFeatBuf);
  enc.submit();

  const rgb = await ctx.readF32(rgbBuf, n * 4, first * 4);
  const dFeat = await ctx.readF32(dFeatBuf, n * A);
  const params = await arena.download(ctx);
  const allGrads = await ctx.readF32(arena.grads!, arena.total);
  const grads = new Map<string, Float32Array>();
  for (const s of arena.segments) grads.set(s.name, allGrads.slice(s.offset, s.offset + s.count));
  const weights =
    cfg.mode === 'MLP_Fea'
      ? {
          w0: params.get('mlp.w0')!,
          b0: params.get('mlp.b0')!,
          w1: params.get('mlp.w1')!,
          b1: params.get('mlp.b1')!,
          w2: params.get('mlp.w2')!,
          b2: params.get('mlp.b2')!,
        }
      : null;
  for (const b of [featBuf, dirsBuf, dRgbBuf, rgbBuf, dFeatBuf, counts]) ctx.destroy(b);
  sm.destroy();
  arena.destroy(ctx);
  return { cfg, n, feat, dirs, r: rw, weights, rgb, grads, dFeat };
}

/** L = Σ_s Σ_c r[s,c] · rgb[s,c] of the f64 reference over samples [s0, s1). */
function lossRef(run: Run, weights: MlpWeights | null, feat: ArrayLike<number>, s0 = 0, s1 = run.n): number {
  const A = run.cfg.appDim;
  const n = s1 - s0;
  const f = Array.from({ length: n * A }, (_, i) => feat[s0 * A + i]!);
  const d = Array.from({ length: n * 4 }, (_, i) => run.dirs[s0 * 4 + i]!);
  const rgb = shadingForwardRef(run.cfg, weights, n, f, d);
  let L = 0;
  for (let s = 0; s < n; s++) for (let c = 0; c < 3; c++) L += run.r[(s0 + s) * 4 + c]! * rgb[s * 3 + c]!;
  return L;
}

/** |got − want| ≤ abs + rel·|want|. */
function close(got: number, want: number, rel: number, what: string, abs = rel): void {
  assert.ok(Math.abs(got - want) <= abs + rel * Math.abs(want), `${what}: got ${got}, want ${want}`);
}

function checkForward(run: Run): void {
  const want = shadingForwardRef(run.cfg, run.weights, run.n, run.feat, run.dirs);
  for (let s = 0; s < run.n; s++) {
    for (let c = 0; c < 3; c++) close(run.rgb[s * 4 + c]!, want[s * 3 + c]!, 1e-4, `rgb[${s},${c}]`);
  }
}

const H = 1e-6;
// Gradients are O(1e-3 .. 1); f32 accumulation over a few dozen samples is good to ~1e-6, so a
// tolerance of 2e-3 relative with a 1e-5 floor still catches a wrong mask or a missing PE term.
const GRAD_TOL = 2e-3;
const GRAD_ABS = 1e-5;

function checkFeatGrad(run: Run, samples: number[]): void {
  const A = run.cfg.appDim;
  const f = Float64Array.from(run.feat);
  for (const s of samples) {
    for (let d = 0; d < A; d++) {
      const i = s * A + d;
      const x = f[i]!;
      f[i] = x + H;
      const lp = lossRef(run, run.weights, f, s, s + 1);
      f[i] = x - H;
      const lm = lossRef(run, run.weights, f, s, s + 1);
      f[i] = x;
      close(run.dFeat[i]!, (lp - lm) / (2 * H), GRAD_TOL, `dFeat[${s},${d}]`, GRAD_ABS);
    }
  }
}

function checkWeightGrads(run: Run, seed: number, picks: number): void {
  const r = rng(seed);
  const w = run.weights!;
  const keys = ['w0', 'b0', 'w1', 'b1', 'w2', 'b2'] as const;
  const copies = Object.fromEntries(keys.map((k) => [k, Float64Array.from(w[k])])) as Record<(typeof keys)[number], Float64Array>;
  // Every bias and the output layer are always probed a little; the rest is a random subset.
  const probes: [(typeof keys)[number], number][] = [
    ['b2', 0],
    ['b2', 2],
    ['b0', 1],
    ['b1', 5 % copies.b1.length],
  ];
  for (let p = 0; p < picks; p++) {
    const k = keys[Math.floor(r() * keys.length)]!;
    probes.push([k, Math.floor(r() * copies[k].length)]);
  }
  for (const [k, i] of probes) {
    const arr = copies[k];
    const x = arr[i]!;
    arr[i] = x + H;
    const lp = lossRef(run, copies, run.feat);
    arr[i] = x - H;
    const lm = lossRef(run, copies, run.feat);
    arr[i] = x;
    const got = run.grads.get(`mlp.${k}`)![i]!;
    close(got, (lp - lm) / (2 * H), GRAD_TOL, `d${k}[${i}]`, GRAD_ABS);
  }
}

test('MLP_Fea (appDim 27, PE 2/2, featureC 128): forward and backward match the f64 reference', async () => {
  const cfg: ShadingConfig = { mode: 'MLP_Fea', appDim: 27, viewPe: 2, feaPe: 2, featureC: 128 };
  assert.equal(mlpInputWidth(cfg), 150);
  const run = await runGpu(cfg, 37, 11);
  assert.equal(run.grads.get('mlp.w0')!.length, 128 * 150);
  assert.deepEqual(Array.from(run.grads.get('pad.factor')!).slice(0, 3), [3.5, 3.5, 3.5], 'other segments untouched');
  checkForward(run);
  checkFeatGrad(run, [0, 17, 36]);
  checkWeightGrads(run, 5, 30);
});

test('MLP_Fea without positional encoding (LLFF configs: viewPe = feaPe = 0)', async () => {
  const cfg: ShadingConfig = { mode: 'MLP_Fea', appDim: 27, viewPe: 0, feaPe: 0, featureC: 128 };
  assert.equal(mlpInputWidth(cfg), 30);
  const run = await runGpu(cfg, 37, 12);
  checkForward(run);
  checkFeatGrad(run, [3, 30]);
  checkWeightGrads(run, 6, 30);
});

test('MLP_Fea with odd sizes (appDim 5, PE 3/1, featureC 20)', async () => {
  const cfg: ShadingConfig = { mode: 'MLP_Fea', appDim: 5, viewPe: 1, feaPe: 3, featureC: 20 };
  const run = await runGpu(cfg, 19, 13);
  checkForward(run);
  checkFeatGrad(run, [0, 9, 18]);
  checkWeightGrads(run, 7, 30);
});

test('MLP_Fea over rows only the GPU counted (a chunk of a longer list) matches the f64 reference', async () => {
  const cfg: ShadingConfig = { mode: 'MLP_Fea', appDim: 5, viewPe: 1, feaPe: 3, featureC: 20 };
  const run = await runGpu(cfg, 19, 13, true);
  checkForward(run);
  checkFeatGrad(run, [0, 9, 18]);
  checkWeightGrads(run, 7, 30);
});

test('SH over rows only the GPU counted matches the f64 reference', async () => {
  const cfg: ShadingConfig = { mode: 'SH', appDim: 27, viewPe: 0, feaPe: 0, featureC: 0 };
  const run = await runGpu(cfg, 37, 14, true);
  checkForward(run);
  checkFeatGrad(run, [0, 20, 36]);
});

test('SH decoder: forward and backward match the f64 reference', async () => {
  const cfg: ShadingConfig = { mode: 'SH', appDim: 27, viewPe: 0, feaPe: 0, featureC: 0 };
  const run = await runGpu(cfg, 37, 14);
  checkForward(run);
  // Some channels must be clamped by the ReLU for the mask to be exercised.
  const want = shadingForwardRef(cfg, null, run.n, run.feat, run.dirs);
  assert.ok(want.some((v) => v === 0) && want.some((v) => v > 0));
  checkFeatGrad(
    run,
    Array.from({ length: run.n }, (_, i) => i),
  );
});

test('MLP weights are registered as dense segments with PyTorch-style init', async () => {
  const ctx = await nodeGpu();
  const arena = new ParamArena();
  const sm = new ShadingModule(ctx, { mode: 'MLP_Fea', appDim: 27, viewPe: 2, feaPe: 2, featureC: 128 }, arena, 1);
  assert.deepEqual(
    arena.segments.map((s) => s.name),
    [...MLP_NAMES],
  );
  assert.ok(arena.segments.every((s) => s.group === 'dense' && !s.fixedPoint));
  assert.equal(
    arena.segments.reduce((a, s) => a + s.count, 0),
    36227,
  );
  arena.allocate(ctx);
  const p = await arena.download(ctx);
  const w0 = p.get('mlp.w0')!;
  const bound = 1 / Math.sqrt(150);
  assert.ok(w0.every((v) => Math.abs(v) <= bound) && Math.max(...w0.map(Math.abs)) > 0.9 * bound);
  assert.ok(p.get('mlp.b2')!.every((v) => v === 0));
  // Capacity beyond one binding is refused with a LimitError naming the buffer.
  assert.throws(() => sm.ensureCapacity(Math.ceil(ctx.maxBinding / (150 * 4)) + 1), LimitError);
  sm.ensureCapacity(4);
  sm.destroy();
  arena.destroy(ctx);
});
