// Image-quality metrics on interleaved RGB float images in [0, 1]. Environment-neutral.

/** PSNR in dB for max value 1: -10·log10(MSE). Identical images give Infinity. */
export function psnr(a: Float32Array, b: Float32Array, scored?: Uint8Array | null): number {
  if (a.length !== b.length || a.length === 0) {
    throw new Error(`psnr: images must be non-empty and the same length (got ${a.length} and ${b.length})`);
  }
  // `scored`: one flag per RGB pixel; unflagged pixels (masked out) count for nothing.
  let sum = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    if (scored && !scored[Math.floor(i / 3)]) continue;
    const d = a[i] - b[i];
    sum += d * d;
    count++;
  }
  if (count === 0) throw new Error('psnr: every pixel is masked out');
  return -10 * Math.log10(sum / count);
}

const SSIM_SIZE = 11;
const SSIM_SIGMA = 1.5;
const SSIM_C1 = 0.01 ** 2; // (k1 · max)^2 with max = 1
const SSIM_C2 = 0.03 ** 2; // (k2 · max)^2

/** Normalised 1-D Gaussian; the 2-D window is its outer product, so filtering is separable. */
function gaussian1d(size: number, sigma: number): Float64Array {
  const w = new Float64Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
    sum += w[i];
  }
  for (let i = 0; i < size; i++) w[i] /= sum;
  return w;
}

const WINDOW = gaussian1d(SSIM_SIZE, SSIM_SIGMA);

/**
 * SSIM as computed by mip-NeRF's evaluation (and used for NeRF-Synthetic tables): per channel,
 * 11x11 Gaussian window with σ = 1.5, k1 = 0.01, k2 = 0.03, max value 1, 'valid' filtering
 * (map size (W-10)x(H-10)), averaged over the map and the three channels.
 * Inputs are interleaved RGB, index (y·W + x)·3 + c. Accumulation is in float64.
 */
export function ssim(a: Float32Array, b: Float32Array, width: number, height: number): number {
  const n = width * height;
  if (a.length !== 3 * n || b.length !== 3 * n) {
    throw new Error(`ssim: expected ${3 * n} values for a ${width}x${height} RGB image, got ${a.length} and ${b.length}`);
  }
  if (width < SSIM_SIZE || height < SSIM_SIZE) {
    throw new Error(`ssim: image ${width}x${height} is smaller than the ${SSIM_SIZE}x${SSIM_SIZE} window`);
  }
  const ow = width - SSIM_SIZE + 1;
  const oh = height - SSIM_SIZE + 1;
  const K = SSIM_SIZE;

  // Separable filtering of the five moments x, y, x², y², xy. The horizontal pass writes them
  // interleaved (5 per pixel, ow x height) so that the vertical pass, which walks down
  // 11 rows per output pixel, reads 5 adjacent values per row; this layout was ~2x faster
  // than five separate planes for 800x800 images.
  const h5 = new Float64Array(ow * height * 5);
  const rowStride = ow * 5;

  let total = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const inRow = y * width;
      let o = y * rowStride;
      for (let x = 0; x < ow; x++, o += 5) {
        let sx = 0,
          sy = 0,
          sxx = 0,
          syy = 0,
          sxy = 0;
        let p = (inRow + x) * 3 + c;
        for (let k = 0; k < K; k++, p += 3) {
          const wk = WINDOW[k];
          const va = a[p];
          const vb = b[p];
          const wa = wk * va;
          const wb = wk * vb;
          sx += wa;
          sy += wb;
          sxx += wa * va;
          syy += wb * vb;
          sxy += wa * vb;
        }
        h5[o] = sx;
        h5[o + 1] = sy;
        h5[o + 2] = sxx;
        h5[o + 3] = syy;
        h5[o + 4] = sxy;
      }
    }

    let sum = 0;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let mux = 0,
          muy = 0,
          mxx = 0,
          myy = 0,
          mxy = 0;
        let o = y * rowStride + x * 5;
        for (let k = 0; k < K; k++, o += rowStride) {
          const wk = WINDOW[k];
          mux += wk * h5[o];
          muy += wk * h5[o + 1];
          mxx += wk * h5[o + 2];
          myy += wk * h5[o + 3];
          mxy += wk * h5[o + 4];
        }
        // Clamp variances at 0 as mip-NeRF does (filtering round-off can make them slightly negative).
        const vx = Math.max(0, mxx - mux * mux);
        const vy = Math.max(0, myy - muy * muy);
        // mip-NeRF also clamps the covariance to ±sqrt(σx²σy²) (the Cauchy-Schwarz bound).
        const bound = Math.sqrt(vx * vy);
        const cov = Math.min(bound, Math.max(-bound, mxy - mux * muy));
        sum += ((2 * mux * muy + SSIM_C1) * (2 * cov + SSIM_C2)) / ((mux * mux + muy * muy + SSIM_C1) * (vx + vy + SSIM_C2));
      }
    }
    total += sum / (ow * oh);
  }
  return total / 3;
}
