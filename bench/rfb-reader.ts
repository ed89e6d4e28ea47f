// The byte side of the bench's RFB parser (rfb-stream.ts): chunks of a stream pushed
// in as they arrive, read through a cursor, with payloads of known length skipped as
// they stream past rather than buffered.
export abstract class StreamReader {
  /** Stream bytes consumed (parsed or skipped) so far. */
  consumed = 0;
  protected buf: Buffer = Buffer.alloc(0);
  protected pos = 0;
  protected skip = 0;
  private failed: Error | null = null;

  /** Parses one element; false when it needs more bytes. */
  protected abstract step(): boolean;
  /** Told once, when the stream cannot be parsed. */
  protected abstract failedWith(error: Error): void;

  push(chunk: Uint8Array): void {
    if (this.failed) return;
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.skip > 0) {
      const n = Math.min(this.skip, c.length);
      this.skip -= n;
      this.consumed += n;
      c = c.subarray(n);
      if (this.skip > 0) return;
    }
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), c]) : c;
    this.pos = 0;
    try {
      while (this.skip === 0 && this.step()) {
        /* next element */
      }
    } catch (error) {
      this.failed = error as Error;
      this.failedWith(this.failed);
    }
  }

  protected get avail(): number {
    return this.buf.length - this.pos;
  }

  protected take(n: number): void {
    this.pos += n;
    this.consumed += n;
  }

  protected skipBytes(n: number): void {
    const m = Math.min(n, this.avail);
    this.take(m);
    this.skip = n - m;
  }

  protected u16(at: number): number {
    return this.buf.readUInt16BE(this.pos + at);
  }

  protected u32(at: number): number {
    return this.buf.readUInt32BE(this.pos + at);
  }

  /** Tight's compact length at `at`: [value, bytes it took], or null if not all here. */
  protected compact(at: number): [number, number] | null {
    if (this.avail < at + 1) return null;
    const b0 = this.buf[this.pos + at]!;
    let value = b0 & 0x7f;
    if (!(b0 & 0x80)) return [value, 1];
    if (this.avail < at + 2) return null;
    const b1 = this.buf[this.pos + at + 1]!;
    value |= (b1 & 0x7f) << 7;
    if (!(b1 & 0x80)) return [value, 2];
    if (this.avail < at + 3) return null;
    value |= this.buf[this.pos + at + 2]! << 14;
    return [value, 3];
  }
}
