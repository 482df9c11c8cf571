// The container scene files and checkpoints share: an 8-byte magic, u16 version, u16 reserved (0),
// u32 header length, u32 CRC-32 of the header (PREAMBLE bytes in all), the header (UTF-8 JSON
// padded with spaces to a multiple of 4, so every byte is under its CRC), then sections, each a
// u32 byte length, a u32 CRC-32 and the payload. Each format reads it its own way (a scene file
// streams); both write it here.
import CRC32 from 'crc-32';

/** Bytes before the header JSON: magic, u16 version, u16 reserved, u32 header length, u32 header CRC. */
export const PREAMBLE = 20;

/** A header as JSON bytes, padded with spaces (valid JSON whitespace) to a multiple of 4. */
export function headerBytes(header: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(Math.ceil(json.length / 4) * 4).fill(0x20);
  out.set(json);
  return out;
}

/** The file: preamble, `head` (from headerBytes) and each payload as a checked section. */
export function writeContainer(magic: string, version: number, head: Uint8Array, payloads: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(PREAMBLE + head.length + payloads.reduce((n, p) => n + 8 + p.length, 0));
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(magic), 0);
  dv.setUint16(8, version, true);
  dv.setUint32(12, head.length, true);
  dv.setUint32(16, CRC32.buf(head) >>> 0, true);
  out.set(head, PREAMBLE);
  let at = PREAMBLE + head.length;
  for (const payload of payloads) {
    dv.setUint32(at, payload.length, true);
    dv.setUint32(at + 4, CRC32.buf(payload) >>> 0, true);
    out.set(payload, at + 8);
    at += 8 + payload.length;
  }
  return out;
}

/**
 * Where each section of a well-formed container lies: its length field's offset and its payload's
 * length (what a writer reports, as the bytes a reader needs; not a reader: nothing is checked).
 */
export function sectionSpans(file: Uint8Array): { at: number; length: number }[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: { at: number; length: number }[] = [];
  for (let at = PREAMBLE + dv.getUint32(12, true); at + 8 <= file.length; at += 8 + dv.getUint32(at, true)) out.push({ at, length: dv.getUint32(at, true) });
  return out;
}
