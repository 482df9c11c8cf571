// The coarse-to-fine Gaussian of pose refinement (notes §5): the kernel's taps, the GPU passes and
// their adjoint against the f64 reference, the adjoint against finite differences, and the
// identity the method rests on: blurring a VM field's factors blurs the dense field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blurAxis, blurAxisAdjoint, gaussianTaps } from '../../src/field/blur.ref.ts';
import { type BlurTensor, FactorBlur } from '../../src/field/blur.ts';
import type { SegmentShape } from '../../src/field/settings.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { Encoder } from '../../src/gpu/kernel.ts';
import { nodeGpu } from '../../src/gpu/node.ts';
import { randomNormal } from '../../src/gpu/random.ts';
import { GRAD_SCALE } from '../../src/gpu/wgsl.ts';

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < tol * (1 + Math.abs(want[i]!)), `${what} [${i}]: ${got[i]} vs ${want[i]}`);
};

test("the kernel's taps: the reference's analytic Gaussian, an impulse as the width goes to 0", () => {
  assert.deepEqual(Array.from(gaussianTaps(0)), [1]);
  const thin = gaussianTaps(0.05);
  assert.equal(thin[(thin.length - 1) / 2], 1, 'the centre is clamped to 1');
  assert.ok(thin.every((v, i) => i === (thin.length - 1) / 2 || v < 1e-30));
  const wide = gaussianTaps(2);
  assert.equal(wide.length, 17);
  assert.ok(Math.abs(wide.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'sums to 1 within the cut');
  for (let i = 0; i < 8; i++) assert.equal(wide[i], wide[16 - i]);
  assert.equal(gaussianTaps(20).length, 65, "at most the reference's 65 taps");
});

/** Runs FactorBlur over tensors packed in one buffer (at their offsets), forward or adjoint. */
async function gpuBlur(ctx: GpuContext, tensors: BlurTensor[], data: Float32Array, adjoint: boolean, srcFixed = false): Promise<Float32Array> {
  const src = ctx.upload('blur.test.src', srcFixed ? Int32Array.from(data, (v) => Math.round(v * GRAD_SCALE)) : data);
  const dst = ctx.upload('blur.test.dst', new Float32Array(data.length).fill(-7));
  const blur = new FactorBlur(ctx);
  const enc = new Encoder(ctx);
  blur.encode(enc, tensors, src, dst, { adjoint, srcFixed });
  enc.submit();
  const out = await ctx.readF32(dst, data.length);
  blur.destroy();
  ctx.destroy(src);
  ctx.destroy(dst);
  return out;
}

const plane = (w: number, h: number, k: number): SegmentShape => ({ name: 'density.plane0', count: w * h * k, components: k, group: 'factor', plane: [w, h] });
const line = (l: number, k: number, lines = 1): SegmentShape => ({
  name: 'density.line0',
  count: l * k * lines,
  components: k,
  group: 'factor',
  line: l,
  lines,
});

test('the GPU passes and their adjoint match the reference: planes, lines, Strivec line runs, lines shorter than the kernel', async () => {
  const ctx = await nodeGpu();
  const shapes = [plane(9, 6, 3), line(11, 2), line(3, 4), line(5, 2, 4), plane(2, 7, 1)];
  const sigmas = [1.3, 0.8, 2.5, 1.0, 0];
  let offset = 16;
  const tensors = shapes.map((shape, i) => {
    const t = { shape, offset, sigma: sigmas[i]! };
    offset += shape.count + 5;
    return t;
  });
  const data = randomNormal(offset, 1, 3);
  // The adjoint also as training runs it, from the fixed-point gradient sums.
  for (const [adjoint, srcFixed] of [
    [false, false],
    [true, false],
    [true, true],
  ] as const) {
    const got = await gpuBlur(ctx, tensors, data, adjoint, srcFixed);
    const f = adjoint ? blurAxisAdjoint : blurAxis;
    for (const t of tensors) {
      const x = data.subarray(t.offset, t.offset + t.shape.count);
      const taps = gaussianTaps(t.sigma);
      let want: Float64Array;
      if (t.shape.plane) {
        const [w, h] = t.shape.plane;
        const k = t.shape.components;
        want = adjoint ? f(f(x, 1, h, w * k, taps), h, w, k, taps) : f(f(x, h, w, k, taps), 1, h, w * k, taps);
      } else {
        want = f(x, t.shape.lines ?? 1, t.shape.line!, t.shape.components, taps);
      }
      close(
        got.subarray(t.offset, t.offset + t.shape.count),
        want,
        1e-5,
        `${adjoint ? 'adjoint' : 'blur'} of a ${t.shape.plane ? 'plane' : 'line'} (σ ${t.sigma})`,
      );
    }
    // Nothing outside the tensors is written.
    assert.equal(got[0], -7);
    assert.equal(got[tensors[1]!.offset - 1], -7);
  }
});

test("the adjoint is the blur's gradient: d⟨blur(x), g⟩/dx by central differences", () => {
  const [outer, len, inner] = [2, 7, 3];
  const taps = gaussianTaps(1.7);
  const x = Float64Array.from(randomNormal(outer * len * inner, 1, 11));
  const g = Float64Array.from(randomNormal(outer * len * inner, 1, 12));
  const loss = (v: Float64Array) => blurAxis(v, outer, len, inner, taps).reduce((s, b, i) => s + b * g[i]!, 0);
  const grad = blurAxisAdjoint(g, outer, len, inner, taps);
  for (let i = 0; i < x.length; i++) {
    const eps = 1e-4;
    const p = Float64Array.from(x);
    p[i]! += eps;
    const m = Float64Array.from(x);
    m[i]! -= eps;
    const fd = (loss(p) - loss(m)) / (2 * eps);
    assert.ok(Math.abs(fd - grad[i]!) < 1e-7, `entry ${i} (${i % inner}, along ${Math.floor(i / inner) % len}): ${grad[i]} vs ${fd}`);
  }
});

test("blurring a VM field's planes and lines on the GPU is blurring its dense density field in 3-D", async () => {
  const ctx = await nodeGpu();
  const [X, Y, Z] = [7, 5, 6];
  const k = 2;
  const sigma = 1.4;
  // Slot m: a plane over grid axes PLANE[m] (width, height) and a line along LINE[m], as layouts/vm.ts.
  const PLANE = [
    [0, 1],
    [0, 2],
    [1, 2],
  ];
  const LINE = [2, 1, 0];
  const dims = [X, Y, Z];
  const tensors: BlurTensor[] = [];
  let offset = 0;
  for (let m = 0; m < 3; m++) {
    const [a, b] = PLANE[m]!;
    tensors.push({ shape: plane(dims[a!]!, dims[b!]!, k), offset, sigma });
    offset += dims[a!]! * dims[b!]! * k;
    tensors.push({ shape: line(dims[LINE[m]!]!, k), offset, sigma });
    offset += dims[LINE[m]!]! * k;
  }
  const factors = randomNormal(offset, 1, 21);
  /** Density at every grid point, [z][y][x]: Σ over slots and components of plane · line. */
  const dense = (f: ArrayLike<number>) => {
    const out = new Float64Array(X * Y * Z);
    for (let z = 0; z < Z; z++)
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++) {
          const p = [x, y, z];
          let s = 0;
          for (let m = 0; m < 3; m++) {
            const [a, b] = PLANE[m]!;
            const P = tensors[2 * m]!;
            const L = tensors[2 * m + 1]!;
            for (let c = 0; c < k; c++) s += f[P.offset + (p[b!]! * dims[a!]! + p[a!]!) * k + c]! * f[L.offset + p[LINE[m]!]! * k + c]!;
          }
          out[(z * Y + y) * X + x] = s;
        }
    return out;
  };
  const blurred = await gpuBlur(ctx, tensors, factors, false);
  const taps = gaussianTaps(sigma);
  const want = blurAxis(blurAxis(blurAxis(dense(factors), Z * Y, X, 1, taps), Z, Y, X, taps), 1, Z, X * Y, taps);
  close(dense(blurred), want, 1e-4, 'dense field of the blurred factors');
  // And it is a real blur: the field changed.
  assert.ok(dense(factors).some((v, i) => Math.abs(v - want[i]!) > 0.05));
});
