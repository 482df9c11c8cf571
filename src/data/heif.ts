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

/**
 * The largest image size a HEIF file's item properties state (its ispe boxes: the primary image,
 * tiles and thumbnails), read without decoding; null when none is found in the bytes given.
 */
export function heifHeaderSize(bytes: Uint8Array): { width: number; height: number } | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let best: { width: number; height: number } | null = null;
  // Boxes of interest nest meta > iprp > ipco > ispe; meta and ispe are full boxes (4 bytes of version and flags).
  const walk = (from: number, to: number, depth: number): void => {
    let at = from;
    while (at + 8 <= to && depth < 4) {
      let size = v.getUint32(at);
      const type = fourcc(bytes, at + 4);
      let header = 8;
      if (size === 1 && at + 16 <= to) {
        size = Number(v.getBigUint64(at + 8));
        header = 16;
      } else if (size === 0) size = to - at;
      if (size < header || at + size > to) return;
      if (type === 'meta') walk(at + header + 4, at + size, depth + 1);
      else if (type === 'iprp' || type === 'ipco') walk(at + header, at + size, depth + 1);
      else if (type === 'ispe' && size >= header + 12) {
        const width = v.getUint32(at + header + 4);
        const height = v.getUint32(at + header + 8);
        if (!best || width * height > best.width * best.height) best = { width, height };
      }
      at += size;
    }
  };
  walk(0, bytes.length, 0);
  return best;
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
