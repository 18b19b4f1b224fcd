// SIP over a byte stream (TCP, TLS): one complete message per callback, split by Content-Length (RFC 3261 §18.3),
// counted in bytes. CRLF keep-alives between messages (RFC 5626 §4.4.1: "\r\n\r\n" ping, "\r\n" pong) are reported
// apart. Garbage the framer cannot resynchronise from is an error: the connection must be dropped.

export interface FramerEvents {
  message(text: string): void;
  /** A CRLFCRLF ping from the peer: answer it with a CRLF pong. */
  ping(): void;
  /** A lone CRLF: the peer's pong to our ping. */
  pong(): void;
}

export class StreamFramingError extends Error {}

const LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im;

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly on: FramerEvents,
    /** The largest message accepted (headers + body); a bigger one is an attack or a broken peer. */
    private readonly maxMessageBytes = 256 * 1024,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      // keep-alives sit between messages only
      if (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) {
        if (this.buf.length >= 4 && this.buf[2] === 0x0d && this.buf[3] === 0x0a) {
          this.buf = this.buf.subarray(4);
          this.on.ping();
          continue;
        }
        if (this.buf.length === 3 && this.buf[2] === 0x0d) return; // half a ping so far
        this.buf = this.buf.subarray(2);
        this.on.pong();
        continue;
      }
      const headerEnd = this.buf.indexOf("\r\n\r\n", 0, "latin1");
      if (headerEnd < 0) {
        if (this.buf.length > this.maxMessageBytes) throw new StreamFramingError(`no end of headers within ${this.maxMessageBytes} bytes`);
        return;
      }
      const m = LENGTH.exec(this.buf.subarray(0, headerEnd).toString("latin1"));
      if (!m) throw new StreamFramingError("a SIP message on a stream without Content-Length (RFC 3261 §18.3 makes it mandatory)");
      const total = headerEnd + 4 + Number(m[1]);
      if (total > this.maxMessageBytes) throw new StreamFramingError(`a ${total}-byte message is over the ${this.maxMessageBytes}-byte limit`);
      if (this.buf.length < total) return;
      const text = this.buf.subarray(0, total).toString("utf8");
      this.buf = this.buf.subarray(total);
      this.on.message(text);
    }
  }
}
