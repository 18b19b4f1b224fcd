// A UDP relay between the phone and a real registrar that loses chosen packets on purpose (the first copy of a
// request), and counts what passed: the phone's retransmission timers are then tested against real Kamailio.
import * as dgram from "node:dgram";

export interface LossyRelay {
  readonly port: number;
  /** Every request line the phone sent (first line and top Via branch), in order, dropped ones included. */
  readonly seen: Array<{ line: string; branch: string; dropped: boolean; at: number }>;
  close(): Promise<void>;
}

/** Relays 127.0.0.1:port <-> 127.0.0.1:target; `drop(first line, copy number of this branch)` says what to lose. */
export async function startLossyRelay(target: number, drop: (line: string, copy: number) => boolean): Promise<LossyRelay> {
  const sock = dgram.createSocket("udp4");
  const seen: LossyRelay["seen"] = [];
  let client: { address: string; port: number } | undefined;
  const copies = new Map<string, number>();
  sock.on("message", (msg, rinfo) => {
    if (rinfo.port === target) {
      if (client) sock.send(msg, client.port, client.address);
      return;
    }
    client = { address: rinfo.address, port: rinfo.port };
    const text = msg.toString();
    const line = text.slice(0, text.indexOf("\r\n"));
    const branch = /branch=([^;\s,]+)/.exec(text)?.[1] ?? "";
    const copy = (copies.get(branch) ?? 0) + 1;
    copies.set(branch, copy);
    const dropped = !line.startsWith("SIP/2.0") && drop(line, copy);
    seen.push({ line, branch, dropped, at: Date.now() });
    if (!dropped) sock.send(msg, target, "127.0.0.1");
  });
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
  return { port: sock.address().port, seen, close: () => new Promise((r) => sock.close(() => r())) };
}
