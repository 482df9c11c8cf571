// A little-endian byte writer: values appended one after another, then joined once (COLMAP's
// binary models, compact scene files).
export class Bytes {
  private parts: Uint8Array[] = [];

  private add(n: number, set: (v: DataView) => void): this {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    this.parts.push(b);
    return this;
  }

  i32 = (v: number) => this.add(4, (d) => d.setInt32(0, v, true));
  i64 = (v: number) => this.add(8, (d) => d.setBigInt64(0, BigInt(v), true));
  u64 = (v: number) => this.add(8, (d) => d.setBigUint64(0, BigInt(v), true));
  f64 = (v: number) => this.add(8, (d) => d.setFloat64(0, v, true));
  u8 = (v: number) => this.add(1, (d) => d.setUint8(0, v));

  /** A string, UTF-8, with a terminating zero. */
  str(s: string): this {
    this.parts.push(new TextEncoder().encode(s), new Uint8Array(1));
    return this;
  }

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }

  /** f32 values. */
  f32s(values: ArrayLike<number>): this {
    return this.add(4 * values.length, (d) => {
      for (let i = 0; i < values.length; i++) d.setFloat32(4 * i, values[i]!, true);
    });
  }

  /** u16 values (half floats as their bits). */
  u16s(values: ArrayLike<number>): this {
    return this.add(2 * values.length, (d) => {
      for (let i = 0; i < values.length; i++) d.setUint16(2 * i, values[i]!, true);
    });
  }

  done(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
