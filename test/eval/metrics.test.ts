import assert from 'node:assert/strict';
import { test } from 'node:test';
import { psnr, ssim } from '../../src/eval/metrics.ts';

/** Small deterministic PRNG (mulberry32) so the tests are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomImage(w: number, h: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(w * h * 3);
  for (let i = 0; i < out.length; i++) out[i] = r();
  return out;
}

/** A smooth image with structure (gradients + a few sinusoids), closer to a real photo than noise. */
function smoothImage(w: number, h: number): Float32Array {
  const out = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        out[(y * w + x) * 3 + c] = 0.5 + 0.4 * Math.sin(x / (5 + c) + y / 9) * Math.cos(y / (7 + c));
      }
    }
  }
  return out;
}

function addNoise(img: Float32Array, sigma: number, seed: number): Float32Array {
  const r = rng(seed);
  return img.map((v) => {
    // Box-Muller normal sample
    const n = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.min(1, Math.max(0, v + sigma * n));
  });
}

/**
 * Direct reference SSIM: for every output pixel, a full 11x11 double loop with the 2-D
 * Gaussian window (no separability), mip-NeRF's variance/covariance clipping, 'valid' region.
 */
function ssimReference(a: Float32Array, b: Float32Array, w: number, h: number): number {
  const size = 11;
  const sigma = 1.5;
  const g: number[][] = [];
  let gsum = 0;
  for (let i = 0; i < size; i++) {
    g.push([]);
    for (let j = 0; j < size; j++) {
      const v = Math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / (2 * sigma * sigma));
      g[i].push(v);
      gsum += v;
    }
  }
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  let total = 0;
  let count = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y + size <= h; y++) {
      for (let x = 0; x + size <= w; x++) {
        let mx = 0,
          my = 0,
          mxx = 0,
          myy = 0,
          mxy = 0;
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) {
            const wgt = g[i][j] / gsum;
            const p = ((y + i) * w + (x + j)) * 3 + c;
            const va = a[p];
            const vb = b[p];
            mx += wgt * va;
            my += wgt * vb;
            mxx += wgt * va * va;
            myy += wgt * vb * vb;
            mxy += wgt * va * vb;
          }
        }
        const sx = Math.max(0, mxx - mx * mx);
        const sy = Math.max(0, myy - my * my);
        let sxy = mxy - mx * my;
        sxy = Math.sign(sxy) * Math.min(Math.sqrt(sx * sy), Math.abs(sxy));
        total += ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sx + sy + c2));
        count++;
      }
    }
  }
  return total / count;
}

test('psnr on a known MSE', () => {
  const a = new Float32Array(300).fill(0.5);
  const b = a.map((v, i) => v + (i % 2 === 0 ? 0.1 : -0.1)); // MSE = 0.01 -> 20 dB
  assert.ok(Math.abs(psnr(a, b) - 20) < 1e-4, `psnr ${psnr(a, b)}`);
  const c = new Float32Array(300).fill(0.25);
  const d = new Float32Array(300).fill(0.75); // MSE = 0.25 -> 6.0206 dB
  assert.ok(Math.abs(psnr(c, d) - -10 * Math.log10(0.25)) < 1e-9);
  assert.equal(psnr(a, a), Infinity);
  assert.throws(() => psnr(a, new Float32Array(3)), /same length/);
});

test('ssim of identical images is 1', () => {
  const img = randomImage(32, 24, 1);
  assert.ok(Math.abs(ssim(img, img, 32, 24) - 1) < 1e-12);
  const smooth = smoothImage(40, 30);
  assert.ok(Math.abs(ssim(smooth, smooth, 40, 30) - 1) < 1e-12);
  // Constant images: zero variance, SSIM still 1 thanks to the stabilising constants.
  const flat = new Float32Array(15 * 15 * 3).fill(0.3);
  assert.ok(Math.abs(ssim(flat, flat, 15, 15) - 1) < 1e-12);
});

test('ssim matches a direct non-separable reference on 20x17 random images', () => {
  for (const seed of [1, 2, 3]) {
    const a = randomImage(20, 17, seed);
    const b = randomImage(20, 17, seed + 100);
    const fast = ssim(a, b, 20, 17);
    const ref = ssimReference(a, b, 20, 17);
    assert.ok(Math.abs(fast - ref) < 1e-6, `seed ${seed}: ${fast} vs ${ref}`);
    // Correlated pair, so the score is far from 0 and the covariance term matters.
    const c = addNoise(a, 0.1, seed + 200);
    assert.ok(Math.abs(ssim(a, c, 20, 17) - ssimReference(a, c, 20, 17)) < 1e-6);
  }
  // Exactly the window size: a 1x1 map.
  const a = randomImage(11, 11, 7);
  const b = addNoise(a, 0.2, 8);
  assert.ok(Math.abs(ssim(a, b, 11, 11) - ssimReference(a, b, 11, 11)) < 1e-6);
  assert.throws(() => ssim(a, b, 10, 12), /expected|smaller/);
});

test('ssim decreases with noise', () => {
  const w = 64;
  const h = 48;
  const img = smoothImage(w, h);
  let prev = 1;
  for (const sigma of [0.01, 0.03, 0.1, 0.3]) {
    const s = ssim(img, addNoise(img, sigma, 42), w, h);
    assert.ok(s < prev, `sigma ${sigma}: ssim ${s} should be below ${prev}`);
    assert.ok(s > 0 && s < 1);
    prev = s;
  }
});

test('ssim is fast at 800x800', () => {
  const a = randomImage(800, 800, 5);
  const b = addNoise(a, 0.05, 6);
  const t0 = performance.now();
  const s = ssim(a, b, 800, 800);
  const ms = performance.now() - t0;
  assert.ok(Number.isFinite(s));
  assert.ok(ms < 1000, `ssim took ${ms.toFixed(0)} ms`);
});
