// NumPy's .npy files (format versions 1 to 3), as LLFF's poses_bounds.npy is stored: a magic
// string, a version, a header that is a Python dict literal ({'descr': '<f8', 'fortran_order':
// False, 'shape': (20, 17), }), then the array's bytes. Only what a pose file needs is read: a
// little-endian float64 or float32 array of any shape, in C or Fortran order, returned in C order.
import { DatasetError } from './types.ts';

export interface NpyArray {
  shape: number[];
  /** The values in C (row-major) order, as float64. */
  data: Float64Array;
}

export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function readNpy(bytes: Uint8Array, file: string): NpyArray {
  const fail = (problem: string): never => {
    throw new DatasetError(file, `not a readable .npy array: ${problem}`);
  };
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) fail('it does not start with the \\x93NUMPY magic');
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`format version ${major}.${bytes[7]} is unknown (1 to 3 are read)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : fail('truncated before its header');
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) fail(`its header claims ${headerLength} bytes, past the end of the ${bytes.length}-byte file`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1] ?? fail(`no 'descr' in its header (${header.trim()})`);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] ?? fail("no 'fortran_order' in its header");
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail("no 'shape' in its header");
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`the shape (${shapeText}) is not a list of sizes`)));
  const size = shape.reduce((a, b) => a * b, 1);
  const width =
    descr === '<f8' || descr === 'float64' ? 8 : descr === '<f4' || descr === 'float32' ? 4 : fail(`its type ${descr} is not little-endian float64 or float32`);
  const body = start + headerLength;
  if (!Number.isSafeInteger(size) || body + size * width > bytes.length) {
    fail(`its shape (${shape.join(', ')}) needs ${size * width} bytes of data, but ${bytes.length - body} follow the header`);
  }
  const raw = new Float64Array(size);
  for (let i = 0; i < size; i++) raw[i] = width === 8 ? view.getFloat64(body + i * 8, true) : view.getFloat32(body + i * 4, true);
  if (fortran === 'False' || shape.length < 2) return { shape, data: raw };
  // Fortran order: the first index varies fastest. Transposed into C order.
  const data = new Float64Array(size);
  const strides = shape.map((_, k) => shape.slice(0, k).reduce((a, b) => a * b, 1));
  const index = new Array(shape.length).fill(0);
  for (let c = 0; c < size; c++) {
    let f = 0;
    for (let k = 0; k < shape.length; k++) f += index[k]! * strides[k]!;
    data[c] = raw[f]!;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++index[k] < shape[k]!) break;
      index[k] = 0;
    }
  }
  return { shape, data };
}
