// `deskphone-lis --wiremap FILE --port N [--cert F --key F] [--host H]`: runs the reference LIS until SIGTERM (or
// SIGINT). Prints one line, "LIS listening on https://...", once it accepts requests; SIGHUP re-reads the wiremap now
// (it is also re-read by itself when the file changes). Without --cert/--key it serves plain HTTP, for testing a
// phone's emergency fallback only.
import { promises as fs } from "node:fs";
import { parseArgs } from "node:util";
import { createLogger } from "../../base/log.js";
import { isPhoneError } from "../../base/errors.js";
import { startLisServer, type LisServer } from "./lis-server.js";

export const LIS_USAGE = `usage: deskphone-lis --wiremap FILE --port N [--cert FILE --key FILE] [--host H] [--public-url URL] [--log-level LEVEL]

  --wiremap FILE      the wiremap (JSON; see src/location/lis/wiremap.example.json), re-read when it changes
  --port N            the port to listen on (0 picks a free one)
  --cert, --key FILE  PEM certificate chain and private key for HTTPS; without both, plain HTTP (lab tests of the
                      phone's emergency fallback only)
  --host H            the address to listen on (default 0.0.0.0)
  --public-url URL    the URL phones use, put in each location's provided-by (default: the URL it listens on)
  --log-level LEVEL   trace, debug, info, warn, error (default info; logs go to stderr)
`;

/** Output sinks (the process's by default; tests pass their own). */
export interface LisMainIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: LisMainIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Starts the LIS, prints where it listens, and resolves the exit code once a signal stopped it (2: usage, 1: failed). */
export async function lisMain(argv: string[], io: LisMainIo = stdio): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        wiremap: { type: "string" },
        port: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        host: { type: "string", default: "0.0.0.0" },
        "public-url": { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    io.err(`deskphone-lis: ${(e as Error).message}\n${LIS_USAGE}`);
    return 2;
  }
  if (args.help) {
    io.out(LIS_USAGE);
    return 0;
  }
  const usage = (msg: string): number => {
    io.err(`deskphone-lis: ${msg}\n${LIS_USAGE}`);
    return 2;
  };
  if (!args.wiremap) return usage("--wiremap FILE is required");
  if (args.port === undefined) return usage("--port N is required");
  if (!/^\d{1,5}$/.test(args.port) || Number(args.port) > 65535) return usage(`--port must be a number from 0 to 65535, not "${args.port}"`);
  if (!args.cert !== !args.key) return usage("--cert and --key go together");
  if (args["public-url"] && !/^https?:\/\/[^/\s]+/.test(args["public-url"])) return usage(`--public-url must be an http(s) URL, not "${args["public-url"]}"`);

  const log = createLogger({ name: "lis", level: args["log-level"] });
  let lis: LisServer;
  try {
    const tls = args.cert && args.key ? { certPem: await readPem(args.cert, "--cert"), keyPem: await readPem(args.key, "--key") } : null;
    lis = await startLisServer({ wiremapFile: args.wiremap, port: Number(args.port), host: args.host, tls, log, ...(args["public-url"] ? { publicUrl: args["public-url"] } : {}) });
  } catch (e) {
    io.err(`deskphone-lis: ${isPhoneError(e) ? e.message : (e as Error).message}\n`);
    return 1;
  }
  // the handlers go in before the line is printed: whoever waits for it may signal at once, and a signal with no
  // handler yet would kill the process by default (no clean stop)
  const onHup = (): void => void lis.reload().then((m) => io.err(`deskphone-lis: wiremap reloaded (${m.entries.length} entries)\n`), (e: Error) => io.err(`deskphone-lis: ${e.message} (the last good wiremap stays in use)\n`));
  process.on("SIGHUP", onHup);
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  if (!args.cert) io.err("deskphone-lis: plain HTTP (no --cert/--key): for testing a phone's emergency fallback only\n");
  io.out(`LIS listening on ${lis.url}\n`);
  log.info({ signal: await signal }, "stopping");
  process.off("SIGHUP", onHup);
  await lis.stop();
  return 0;
}

async function readPem(file: string, flag: string): Promise<string> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    throw new Error(`${flag} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
