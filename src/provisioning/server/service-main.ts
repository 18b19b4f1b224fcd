// `provisioning-service --config FILE`: runs the reference provisioning service until SIGTERM (or SIGINT).
import { parseArgs } from "node:util";
import { createLogger } from "../../base/log.js";
import { isPhoneError } from "../../base/errors.js";
import { loadServiceConfig } from "./service-config.js";
import { startProvisioningService } from "./service.js";

export const SERVICE_USAGE = `usage: provisioning-service --config FILE [--log-level LEVEL]

  --config FILE       the service's config (JSON): listen, dataDir, sip {domain, servers}, tlsNames,
                      kamailioSubscriberFile, pinPolicy, lockout, scrypt, dialPlan, trustedCAs
  --log-level LEVEL   trace, debug, info, warn, error (default info; logs go to stderr)
`;

/** Starts the service, prints where it listens, and resolves the exit code once a signal stopped it. */
export async function serviceMain(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { config: { type: "string" }, "log-level": { type: "string", default: "info" }, help: { type: "boolean", short: "h", default: false } }, strict: true }).values;
  } catch (e) {
    process.stderr.write(`provisioning-service: ${(e as Error).message}\n${SERVICE_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(SERVICE_USAGE);
    return 0;
  }
  if (!args.config) {
    process.stderr.write(`provisioning-service: --config FILE is required\n${SERVICE_USAGE}`);
    return 2;
  }
  const log = createLogger({ name: "provisioning", level: args["log-level"] });
  let service;
  try {
    service = await startProvisioningService(await loadServiceConfig(args.config), { log });
  } catch (e) {
    process.stderr.write(`provisioning-service: ${isPhoneError(e) ? e.message : (e as Error).message}\n`);
    return 1;
  }
  // the handlers go in before the line is printed: whoever waits for it may signal at once, and a signal with no
  // handler yet would kill the process by default (no clean stop)
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  process.stdout.write(`provisioning: listening on ${service.url}\n`);
  log.info({ signal: await signal }, "stopping");
  await service.stop();
  return 0;
}
