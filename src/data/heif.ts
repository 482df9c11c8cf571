// HEIC/HEIF photos (what iPhones save), which browsers other than Safari do not decode: libheif
// compiled to WebAssembly (libheif-js, its bundle with the wasm inlined, about 2 MB), imported
// only when such a file arrives, in the browser and in Node alike. libheif applies the
// container's rotation and mirroring (irot, imir) as it decodes; the EXIF orientation a HEIC
// also carries describes the same turn and is not applied again (data/photos.ts).
import { DatasetError, type DecodedImage } from './types.ts';

/** ftyp brands of HEIF still images (HEVC-coded, and the generic image brands). */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

const fourcc = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/** Whether the bytes start as a HEIF file: an ftyp box whose major or a compatible brand is a HEIF image brand (not AVIF, which browsers decode). */
export function isHeif(bytes: Uint8Array): boolean {
  if (bytes.length < 16 || fourcc(bytes, 4) !== 'ftyp') return false;
  const size = Math.min(bytes.length, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0));
  const brands = [fourcc(bytes, 8)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(fourcc(bytes, at));
  return brands.includes('avif') || brands.includes('avis') ? false : brands.some((b) => HEIF_BRANDS.has(b));
}

interface Box {
  type: string;
  /** Where its body starts (after the size, type and, for a full box, version and flags) and ends. */
  body: number;
  end: number;
}

/** Full boxes (4 bytes of version and flags before their body) among those read here. */
const FULL_BOXES = new Set(['meta', 'ispe', 'iinf', 'infe', 'iloc']);

/** The boxes between `from` and `to`, stopping at the first whose stated size does not fit. */
function* boxesIn(bytes: Uint8Array, v: DataView, from: number, to: number): Generator<Box> {
  let at = from;
  while (at + 8 <= to) {
    let size = v.getUint32(at);
    const type = fourcc(bytes, at + 4);
    let header = 8;
    if (size === 1 && at + 16 <= to) {
      size = Number(v.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = to - at;
    if (FULL_BOXES.has(type)) header += 4;
    if (size < header || at + size > to) return;
    yield { type, body: at + header, end: at + size };
    at += size;
  }
}

const child = (bytes: Uint8Array, v: DataView, parent: { body: number; end: number }, type: string): Box | undefined => {
  for (const b of boxesIn(bytes, v, parent.body, parent.end)) if (b.type === type) return b;
  return undefined;
};

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * The largest image size a HEIF file's item properties state (its ispe boxes: the primary image,
 * tiles and thumbnails), read without decoding; null when none is found in the bytes given.
 */
export function heifHeaderSize(bytes: Uint8Array): { width: number; height: number } | null {
  const v = view(bytes);
  const meta = child(bytes, v, { body: 0, end: bytes.length }, 'meta');
  const ipco = meta && child(bytes, v, child(bytes, v, meta, 'iprp') ?? meta, 'ipco');
  let best: { width: number; height: number } | null = null;
  for (const b of ipco ? boxesIn(bytes, v, ipco.body, ipco.end) : [])
    if (b.type === 'ispe' && b.end - b.body >= 8) {
      const width = v.getUint32(b.body);
      const height = v.getUint32(b.body + 4);
      if (!best || width * height > best.width * best.height) best = { width, height };
    }
  return best;
}

/**
 * A HEIF file's EXIF as a TIFF block (what exifr reads): the Exif item found through iinf and
 * located through iloc (stored in the file, construction method 0), past the offset its first four
 * bytes give. Read here rather than by exifr's HEIC parser, which refuses files libheif writes and
 * those with a long ftyp (iOS 18's HDR photos). Null where the file has none or states it badly.
 */
export function heifExif(bytes: Uint8Array): Uint8Array | null {
  const v = view(bytes);
  const meta = child(bytes, v, { body: 0, end: bytes.length }, 'meta');
  const iinf = meta && child(bytes, v, meta, 'iinf');
  const iloc = meta && child(bytes, v, meta, 'iloc');
  if (!iinf || !iloc) return null;
  try {
    // iinf: entry count (16 bits in version 0, else 32), then infe boxes; infe version 2 or 3 names the item type.
    const iinfVersion = bytes[iinf.body - 4]!;
    let exifId: number | null = null;
    for (const infe of boxesIn(bytes, v, iinf.body + (iinfVersion === 0 ? 2 : 4), iinf.end)) {
      const version = bytes[infe.body - 4]!;
      if (infe.type !== 'infe' || version < 2) continue;
      const idBytes = version === 2 ? 2 : 4;
      const id = idBytes === 2 ? v.getUint16(infe.body) : v.getUint32(infe.body);
      if (fourcc(bytes, infe.body + idBytes + 2) === 'Exif') exifId = id;
    }
    if (exifId === null) return null;
    // iloc: field sizes in nibbles, then per item its id, construction method, base offset and extents.
    const version = bytes[iloc.body - 4]!;
    const offsetSize = bytes[iloc.body]! >> 4;
    const lengthSize = bytes[iloc.body]! & 15;
    const baseOffsetSize = bytes[iloc.body + 1]! >> 4;
    const indexSize = version >= 1 ? bytes[iloc.body + 1]! & 15 : 0;
    let at = iloc.body + 2;
    const uint = (size: number): number => {
      const n = size === 0 ? 0 : size === 2 ? v.getUint16(at) : size === 4 ? v.getUint32(at) : size === 8 ? Number(v.getBigUint64(at)) : Number.NaN;
      at += size;
      return n;
    };
    const items = uint(version < 2 ? 2 : 4);
    for (let i = 0; i < items; i++) {
      const id = uint(version < 2 ? 2 : 4);
      const method = version >= 1 ? uint(2) & 15 : 0;
      uint(2); // data reference index
      const base = uint(baseOffsetSize);
      const extents = uint(2);
      const parts: Uint8Array[] = [];
      for (let e = 0; e < extents; e++) {
        uint(indexSize);
        const offset = base + uint(offsetSize);
        const length = uint(lengthSize);
        parts.push(bytes.subarray(offset, offset + (length || bytes.length - offset)));
      }
      if (id !== exifId) continue;
      if (method !== 0 || parts.length === 0 || !(at <= iloc.end)) return null;
      const data = parts.length === 1 ? parts[0]! : Uint8Array.from(parts.flatMap((p) => [...p]));
      if (data.length < 4) return null;
      const tiff = data.subarray(4 + view(data).getUint32(0));
      return tiff.length >= 8 ? tiff : null;
    }
  } catch {
    // A box that states more than the file holds (DataView reads past the end).
  }
  return null;
}

interface HeifImage {
  get_width(): number;
  get_height(): number;
  display(target: { data: Uint8ClampedArray; width: number; height: number }, done: (result: unknown) => void): void;
  free(): void;
}
interface Libheif {
  HeifDecoder: new () => { decode(bytes: Uint8Array): HeifImage[] };
}

let libheif: Promise<Libheif> | undefined;
const load = (): Promise<Libheif> => (libheif ??= import('libheif-js/libheif-wasm/libheif-bundle.mjs').then((m) => m.default() as Libheif));

/** Decodes a HEIF file's primary image (its first top-level image where none is marked) to RGBA8, rotated and mirrored as the container says. */
export async function decodeHeif(bytes: Uint8Array, path: string): Promise<DecodedImage> {
  const lib = await load();
  let images: HeifImage[];
  try {
    images = new lib.HeifDecoder().decode(bytes);
  } catch (e) {
    throw new DatasetError(path, `cannot decode HEIC (libheif: ${e instanceof Error ? e.message : String(e)})`);
  }
  if (images.length === 0) throw new DatasetError(path, 'cannot decode HEIC: libheif found no image in it (truncated or corrupt)');
  const primary = images.find((i) => (i as HeifImage & { is_primary?: () => boolean }).is_primary?.()) ?? images[0]!;
  try {
    const width = primary.get_width();
    const height = primary.get_height();
    const data = new Uint8ClampedArray(width * height * 4);
    const ok = await new Promise<unknown>((resolve) => primary.display({ data, width, height }, resolve));
    if (!ok) throw new DatasetError(path, 'cannot decode HEIC: libheif could not decode its image data (truncated or corrupt)');
    return { width, height, data: new Uint8Array(data.buffer) };
  } finally {
    for (const i of images) i.free();
  }
}
