// The lab a newcomer gets with `npm start`: a real Kamailio on loopback (registrar/proxy with digest auth) and a
// far-end phone (baresip, auto-answering, playing a tone) as extension 1002, with a config bundle that points the
// simulated phone (extension 1001) at them. Everything stops with the phone.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import type { Logger } from "../src/base/log.js";
import { startRegistrar, type Registrar } from "../src/lab/registrar.js";
import { FarPhone } from "../src/lab/far-phone.js";

export interface Lab {
  /** The config bundle written for the phone. */
  bundleFile: string;
  /** What to tell the person at the keyboard. */
  banner: string;
  stop(): Promise<void>;
}

/** Starts the lab; resolves null (after saying why) when Kamailio or baresip is not installed. */
export async function startLab(dataDir: string, log: Logger): Promise<Lab | null> {
  const phonePw = randomBytes(9).toString("base64url");
  const farPw = randomBytes(9).toString("base64url");
  let k: Registrar;
  try {
    k = await startRegistrar({ users: [{ user: "1001", password: phonePw }, { user: "1002", password: farPw }], lifetimeS: 7 * 24 * 3600 });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no Kamailio; the phone runs without a PBX (npm run setup installs it)");
    return null;
  }
  let far: FarPhone | undefined;
  try {
    far = await FarPhone.start({ user: "1002", password: farPw, registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 440, lifetimeS: 7 * 24 * 3600 });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no far-end phone (baresip)");
  }
  const bundleFile = path.join(dataDir, "lab-config.json");
  const bundle = {
    version: 1,
    accounts: [{ user: "1001", password: phonePw, displayName: "Lab", domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }],
    trustedCAs: [k.caFile],
  };
  await fs.writeFile(bundleFile, JSON.stringify(bundle, null, 2), { mode: 0o600 });
  return {
    bundleFile,
    banner: `lab: Kamailio on 127.0.0.1 (udp ${k.udpPort}, tcp ${k.tcpPort}, tls ${k.tlsPort}); this phone is 1001${far ? "; dial 1002 for a far-end phone that answers with a tone" : ""}`,
    stop: async () => {
      await far?.stop();
      await k.stop();
    },
  };
}
