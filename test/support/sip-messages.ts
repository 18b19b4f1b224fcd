// Reading what a sipp peer received (its -trace_msg log), and the checks emergency tests make on it: headers, the
// body, the PIDF-LO part of a multipart INVITE (validated with xmllint against the PIDF-LO schemas), and whether a
// TCP port is listening yet (sipp opens its socket a moment after it starts).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { SippRun } from "../../src/lab/sipp.js";
import { parseMultipart } from "../../src/sip/emergency-invite.js";

const run = promisify(execFile);
const SCHEMA = fileURLToPath(new URL("../fixtures/location-schemas/pidf-lo-validate.xsd", import.meta.url));

/** Whether something listens on TCP `port`. */
export function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return ["/proc/net/tcp", "/proc/net/tcp6"].some((f) => {
    try {
      return readFileSync(f, "utf8")
        .split("\n")
        .some((l) => {
          const c = l.trim().split(/\s+/);
          return c[1]?.endsWith(`:${hex}`) && c[3] === "0A";
        });
    } catch {
      return false;
    }
  });
}

/** Waits until TCP `port` listens (at most `ms`). */
export async function untilListening(port: number, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!listening(port)) {
    if (Date.now() > deadline) throw new Error(`${what} is not listening on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The requests of `method` sipp received, as text. */
export function received(r: SippRun, method: string): string[] {
  return r.messages
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received/.test(block))
    .map((block) => block.replace(/\r?\n/g, "\r\n"))
    .map((block) => block.slice(block.indexOf("\r\n\r\n") + 4).replace(/^(\r\n)+/, ""))
    .filter((m) => m.startsWith(`${method} `));
}

export function header(msg: string, name: string): string | undefined {
  const end = msg.indexOf("\r\n\r\n");
  return new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, "im").exec(msg.slice(0, end < 0 ? undefined : end))?.[1]?.trim();
}

export function bodyOf(msg: string): string {
  const end = msg.indexOf("\r\n\r\n");
  return end < 0 ? "" : msg.slice(end + 4);
}

/** The one PIDF-LO part of a multipart INVITE, with its Content-ID (asserts there is exactly one). */
export function pidfPart(invite: string): { pidf: string; contentId: string; parts: number; first: string } {
  const parts = parseMultipart(header(invite, "Content-Type") ?? "", bodyOf(invite));
  const pidfs = parts.filter((p) => /^application\/pidf\+xml/i.test(p.headers["content-type"] ?? ""));
  assert.equal(pidfs.length, 1, "exactly one application/pidf+xml part");
  return { pidf: pidfs[0].content, contentId: (pidfs[0].headers["content-id"] ?? "").replace(/^<|>$/g, ""), parts: parts.length, first: parts[0]?.headers["content-type"] ?? "" };
}

/** Validates a PIDF-LO with xmllint against the PIDF-LO schemas; throws with xmllint's words when it does not. */
export async function assertValidPidf(pidf: string): Promise<void> {
  const file = path.join(os.tmpdir(), `pidf-${process.pid}-${Math.random().toString(16).slice(2)}.xml`);
  await fs.writeFile(file, pidf);
  try {
    await run("xmllint", ["--noout", "--nonet", "--schema", SCHEMA, file]);
  } catch (e) {
    throw new Error(`the PIDF-LO does not validate: ${(e as { stderr?: string }).stderr ?? (e as Error).message}\n${pidf}`);
  } finally {
    await fs.rm(file, { force: true });
  }
}
