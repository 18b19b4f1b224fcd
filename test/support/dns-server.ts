// A tiny authoritative DNS server on loopback UDP for tests: answers SRV, A and NAPTR queries from a table (RFC 1035 wire
// format, RFC 2782 SRV, RFC 3403 §4.1 NAPTR), NXDOMAIN for a name the table does not hold, an empty answer (NODATA)
// for a type it has none of. Enough for the phone's RFC 3263 server location and RFC 5986 LIS discovery against
// node:dns. `asked` lists every question received ("NAPTR example.com"), oldest first.
import * as dgram from "node:dgram";

export interface DnsTable {
  srv?: Record<string, Array<{ priority: number; weight: number; port: number; target: string }>>;
  a?: Record<string, string[]>;
  /** NAPTR (type 35) records by owner name; replacement "" or "." is the root (a terminal rule's). */
  naptr?: Record<string, NaptrAnswer[]>;
}

export interface NaptrAnswer {
  order: number;
  preference: number;
  flags: string;
  services: string;
  regexp: string;
  replacement: string;
}

const TYPE_NAMES: Record<number, string> = { 1: "A", 33: "SRV", 35: "NAPTR" };

/** RFC 1035 §3.3 <character-string>: a length octet and up to 255 octets. */
function charString(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  if (b.length > 255) throw new Error(`character-string longer than 255 octets: ${s}`);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "ascii")])), Buffer.from([0])]);
}

function readName(b: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  while (b[off] !== 0) {
    labels.push(b.subarray(off + 1, off + 1 + b[off]).toString("ascii"));
    off += 1 + b[off];
  }
  return { name: labels.join(".").toLowerCase(), end: off + 1 };
}

function rr(type: number, ttl: number, rdata: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0xc00c, 0); // the question's name
  h.writeUInt16BE(type, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt32BE(ttl, 6);
  h.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([h, rdata]);
}

export async function startDnsServer(table: DnsTable): Promise<{ address: string; asked: string[]; close(): Promise<void> }> {
  const sock = dgram.createSocket("udp4");
  const asked: string[] = [];
  sock.on("message", (q, rinfo) => {
    if (q.length < 12) return;
    const { name, end } = readName(q, 12);
    const qtype = q.readUInt16BE(end);
    const question = q.subarray(12, end + 4);
    asked.push(`${TYPE_NAMES[qtype] ?? qtype} ${name}`);
    const answers: Buffer[] = [];
    if (qtype === 33)
      for (const s of table.srv?.[name] ?? []) {
        const head = Buffer.alloc(6);
        head.writeUInt16BE(s.priority, 0);
        head.writeUInt16BE(s.weight, 2);
        head.writeUInt16BE(s.port, 4);
        answers.push(rr(33, 60, Buffer.concat([head, encodeName(s.target)])));
      }
    if (qtype === 1) for (const a of table.a?.[name] ?? []) answers.push(rr(1, 60, Buffer.from(a.split(".").map(Number))));
    if (qtype === 35)
      for (const n of table.naptr?.[name] ?? []) {
        const head = Buffer.alloc(4);
        head.writeUInt16BE(n.order, 0);
        head.writeUInt16BE(n.preference, 2);
        answers.push(rr(35, 60, Buffer.concat([head, charString(n.flags), charString(n.services), charString(n.regexp), encodeName(n.replacement)])));
      }
    const known = Boolean(table.srv?.[name] || table.a?.[name] || table.naptr?.[name]);
    const h = Buffer.alloc(12);
    h.writeUInt16BE(q.readUInt16BE(0), 0);
    h.writeUInt16BE(0x8400 | (q.readUInt16BE(2) & 0x0100) | (known ? 0 : 3), 2); // response, authoritative, RD echoed, NXDOMAIN if unknown
    h.writeUInt16BE(1, 4);
    h.writeUInt16BE(answers.length, 6);
    sock.send(Buffer.concat([h, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return { address: `127.0.0.1:${sock.address().port}`, asked, close: () => new Promise((r) => sock.close(() => r())) };
}
