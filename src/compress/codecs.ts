// The value codecs shared by compression and the scene files: IEEE half precision, and 8 bits per
// value with a per-component offset and scale.

/** The largest finite half. */
export const FP16_MAX = 65504;

const f32v = new Float32Array(1);
const u32v = new Uint32Array(f32v.buffer);

/** IEEE half from a finite float of at most FP16_MAX in magnitude (round half up). */
export function toHalf(v: number): number {
  f32v[0] = v;
  const x = u32v[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - e);
    return sign | ((m + 0x1000) >>> 13);
  }
  return (sign | (e << 10) | (mant >>> 13)) + ((mant >>> 12) & 1);
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Values rounded to half precision (what an fp16 file gives back). */
export function roundToHalf(v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = fromHalf(toHalf(v[i]!));
  return out;
}

/** 8-bit codes of a rows × comps block: per component, offset = its minimum and scale = its range / 255 (f32). */
export interface Quantised8 {
  offset: Float32Array;
  scale: Float32Array;
  /** rows × comps codes, row-major: v = offset[c] + q * scale[c]. */
  codes: Uint8Array;
}

export function quantise8(rows: number, comps: number, get: (r: number, c: number) => number): Quantised8 {
  const offset = new Float32Array(comps);
  const scale = new Float32Array(comps);
  const codes = new Uint8Array(rows * comps);
  for (let c = 0; c < comps; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < rows; r++) {
      const v = get(r, c);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (rows === 0) lo = hi = 0;
    scale[c] = Math.fround((hi - lo) / 255);
    offset[c] = Math.fround(lo);
    for (let r = 0; r < rows; r++) {
      const q = scale[c]! > 0 ? Math.round((get(r, c) - offset[c]!) / scale[c]!) : 0;
      codes[r * comps + c] = Math.max(0, Math.min(255, q));
    }
  }
  return { offset, scale, codes };
}

/** The value of code (r, c). */
export const dequantise8 = (q: Quantised8, comps: number, r: number, c: number): number => q.offset[c]! + q.codes[r * comps + c]! * q.scale[c]!;

/** Bits each index takes for a codebook of `k` codewords (at least 1). */
export const indexBits = (k: number): number => Math.max(1, Math.ceil(Math.log2(Math.max(2, k))));

/** Unsigned values of `bits` bits each, packed least significant bit first into bytes. */
export function packBits(values: ArrayLike<number>, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * bits) / 8));
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    for (let b = 0; b < bits; b++, at++) if ((v >>> b) & 1) out[at >>> 3]! |= 1 << (at & 7);
  }
  return out;
}

/** `count` values of `bits` bits from packed bytes (packBits' inverse). */
export function unpackBits(bytes: Uint8Array, bits: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < bits; b++, at++) v |= ((bytes[at >>> 3]! >>> (at & 7)) & 1) << b;
    out[i] = v >>> 0;
  }
  return out;
}
