// How much of a user's input the loaders will read: bounds on an archive's or folder's files, the
// bytes they hold and one image's pixels, taken from the memory of the machine (the browser's
// navigator.deviceMemory, Node's os.totalmem) so a hostile input (a zip bomb, a header claiming
// 60000x60000 pixels, a folder of symbolic-link loops) is refused before it is read, with the
// limit and where it came from in the message. GPU limits are checked later, by the run's memory
// estimate, once the images' downscaled sizes are known.
import { formatBytes } from '../gpu/context.ts';
import { heifHeaderSize, isHeif } from './heif.ts';

export interface InputLimits {
  /** Bytes read in all: a folder's files, or an archive's entries once inflated. */
  totalBytes: number;
  /** Files in one archive or folder. */
  entries: number;
  /** Pixels of one decoded image (4 bytes each while it is decoded). */
  imagePixels: number;
  /** Folders nested below the one opened (deeper is a symbolic-link loop, not a dataset). */
  depth: number;
  /** The memory the limits come from, and who says so ("the browser reports", "this machine has"). */
  memoryBytes: number;
  source: string;
}

/**
 * The limits for a machine with `memoryBytes` of memory: a dataset's files may take a quarter of it
 * (their decoded images and the copies made on the way take the rest), one image may decode to a
 * sixteenth, and a dataset has at most 10,000 files (far more views than a tab can train on).
 */
export function inputLimits(memoryBytes: number, source: string): InputLimits {
  return { totalBytes: Math.floor(memoryBytes / 4), entries: 10_000, imagePixels: Math.floor(memoryBytes / 16 / 4), depth: 32, memoryBytes, source };
}

/** A refusal for too many bytes: what the input holds, and the limit with where it comes from. */
export function tooManyBytes(what: string, limits: InputLimits): string {
  return `${what}, more than the ${formatBytes(limits.totalBytes)} a dataset may take here (a quarter of the ${formatBytes(limits.memoryBytes)} of memory ${limits.source}); refused`;
}

/** A refusal for too many files. */
export function tooManyFiles(what: string, limits: InputLimits): string {
  return `${what}; a dataset may have at most ${limits.entries.toLocaleString('en-US')} files; refused`;
}

/** A PNG's, JPEG's, WebP's or HEIC's size from its header, without decoding; null for other bytes or a header cut short. */
export function imageHeaderSize(bytes: Uint8Array): { width: number; height: number } | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // WebP: "RIFF", its size, "WEBP", then the first chunk: VP8X (the canvas, 24-bit sizes less one),
  // VP8L (lossless: a 0x2f byte, then 14-bit sizes less one) or "VP8 " (lossy: a frame tag and start code, then 14-bit sizes).
  if (bytes.length >= 30 && v.getUint32(0) === 0x52494646 && v.getUint32(8) === 0x57454250) {
    const u24 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
    const chunk = v.getUint32(12);
    if (chunk === 0x56503858) return { width: 1 + u24(24), height: 1 + u24(27) };
    if (chunk === 0x5650384c && bytes[20] === 0x2f) {
      const b = v.getUint32(21, true);
      return { width: 1 + (b & 0x3fff), height: 1 + ((b >>> 14) & 0x3fff) };
    }
    if (chunk === 0x56503820) return { width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff };
    return null;
  }
  if (isHeif(bytes)) return heifHeaderSize(bytes);
  // PNG: the 8-byte signature, then the IHDR chunk: length, "IHDR", width, height (big-endian).
  if (bytes.length >= 24 && v.getUint32(0) === 0x89504e47 && v.getUint32(12) === 0x49484452) {
    return { width: v.getUint32(16), height: v.getUint32(20) };
  }
  // JPEG: walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT, JPG, DAC).
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let at = 2;
  while (at + 9 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1]!;
    // Fill bytes and markers without a length.
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: v.getUint16(at + 5), width: v.getUint16(at + 7) };
    }
    at += 2 + v.getUint16(at + 2);
  }
  return null;
}

/** Why an image's header cannot be decoded here (more pixels than the limits allow), or null. */
export function checkImageHeader(bytes: Uint8Array, limits: InputLimits): string | null {
  const size = imageHeaderSize(bytes);
  if (!size || size.width * size.height <= limits.imagePixels) return null;
  const mp = (n: number) => `${(n / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 })} megapixels`;
  const px = size.width * size.height;
  return (
    `its header claims ${size.width}x${size.height} pixels (${mp(px)}, ${formatBytes(px * 4)} decoded), more than the ${mp(limits.imagePixels)} ` +
    `an image may have here (${formatBytes(limits.imagePixels * 4)} decoded, a sixteenth of the ${formatBytes(limits.memoryBytes)} of memory ${limits.source}); refused`
  );
}
