// The `phone` command line: its usage text and options, parsed into typed values (a help request and a bad option are
// told apart so the entry can answer with the usage and the right exit code).
import { parseArgs } from "node:util";

export const USAGE = `usage: phone [--board NAME|FILE] [--emulate] [--config FILE] [--provisioning URL [--provisioning-ca FILE]] [--control SPEC]... [--data-dir DIR] [--log-level LEVEL] [--no-terminal]

  --board NAME|FILE   board profile: a name from board/ (sim, rpi-gpio, rpi-i2c, rpi-frontpanel) or a .json path
  --emulate           run the board's drivers against chip emulators instead of real hardware
  --lab               also start the lab on loopback (Kamailio + a far-end phone at 1002) and register to it;
                      what \`npm start\` does (ignored with --config)
  --config FILE       a config bundle (JSON: accounts, dial plan, features, lock; see the README) to run with,
                      instead of signing in to a provisioning service
  --provisioning URL  the provisioning service (https) to sign in to with extension + PIN on the keypad
  --provisioning-ca FILE  the CA (PEM) that service's certificate must chain to (the system's CAs otherwise)
  --control SPEC      control protocol listener: tcp:HOST:PORT, tcp:PORT (loopback) or unix:/path; repeatable;
                      default tcp:127.0.0.1:7070 on the simulated board, none on hardware; "none" turns it off
  --web SPEC          the phone's face (HTTP + WebSocket): tcp:HOST:PORT; default tcp:127.0.0.1:8080 on the
                      simulated board; "none" turns it off
  --data-dir DIR      where the phone keeps its state (default ./.phone-data)
  --log-level LEVEL   trace, debug, info, warn, error (default info)
  --no-terminal       on the simulated board, do not draw the phone in this terminal
  --network-interface IF  the phone's LAN interface (its address, MAC and gateway go to the LIS, and a location
                      typed by hand is kept per gateway); default: the one the default route uses
  --sim-hold-keys K,K on the simulated board, keys held down from power-up (as a rig's finger would): "*,#" held
                      through the first second is the factory reset
`;

/** The options as parsed (strict: an unknown option or a missing value throws). */
function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      board: { type: "string" },
      config: { type: "string" },
      provisioning: { type: "string" },
      "provisioning-ca": { type: "string" },
      "provisioning-refresh-s": { type: "string" },
      lab: { type: "boolean", default: false },
      emulate: { type: "boolean", default: false },
      control: { type: "string", multiple: true },
      web: { type: "string" },
      "data-dir": { type: "string", default: ".phone-data" },
      "log-level": { type: "string", default: "info" },
      "no-terminal": { type: "boolean", default: false },
      "sim-hold-keys": { type: "string" },
      "network-interface": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
}

export type PhoneArgs = ReturnType<typeof parse>;

/** The command line: the options to run with, a request for the usage (--help, -h), or what was wrong with it. */
export type ParsedArgs = { kind: "run"; args: PhoneArgs } | { kind: "help" } | { kind: "error"; message: string };

export function parsePhoneArgs(argv: string[]): ParsedArgs {
  let args: PhoneArgs;
  try {
    args = parse(argv);
  } catch (e) {
    return { kind: "error", message: (e as Error).message };
  }
  return args.help ? { kind: "help" } : { kind: "run", args };
}
