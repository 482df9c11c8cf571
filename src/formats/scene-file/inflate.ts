// Raw DEFLATE by the platform's own decoder (the browser's DecompressionStream, Node's zlib behind
// the same API) for SceneReader.pushAsync. Scene files are always written by one encoder (fflate,
// so the studio and the CLI write identical bytes); reading may use whichever decoder is native.
// The reader still checks what comes out: a stream that fails, or inflates to any length but the
// one the header implies, is handed back to its own checked decoder, which names the problem.

/** The section's payload inflated to exactly `raw` bytes, or null (no native decoder, an error, or any other length). */
export async function inflateNative(data: Uint8Array<ArrayBuffer>, raw: number): Promise<Uint8Array | null> {
  if (typeof DecompressionStream === 'undefined') return null;
  const out = new Uint8Array(raw);
  let at = 0;
  try {
    const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // A stream that would outgrow the header's length is stopped at once (no decompression bomb).
      if (at + value.length > raw) {
        await reader.cancel();
        return null;
      }
      out.set(value, at);
      at += value.length;
    }
  } catch {
    return null;
  }
  return at === raw ? out : null;
}
