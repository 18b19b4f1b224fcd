// Structured logging (pino) with secrets redacted before anything reaches a sink.
import { pino, type Logger as PinoLogger, type DestinationStream } from "pino";

export type Logger = Pick<PinoLogger, "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "child" | "level">;

/** Field names whose values never reach a log, at any depth we redact. */
export const SECRET_FIELDS = ["pin", "password", "passwd", "secret", "key", "privateKey", "token", "authorization", "ha1"];

const redactPaths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export interface LogOptions {
  level?: string;
  /** Where the lines go; defaults to stderr. Tests pass a stream to read them back. */
  destination?: DestinationStream | NodeJS.WritableStream;
  name?: string;
}

export function createLogger(opts: LogOptions = {}): Logger {
  return pino(
    {
      name: opts.name ?? "phone",
      level: opts.level ?? "info",
      redact: { paths: redactPaths, censor: "[redacted]" },
      base: undefined,
    },
    (opts.destination as DestinationStream | undefined) ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that writes nothing, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
