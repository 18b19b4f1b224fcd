// The lab a newcomer gets with `npm start`: a real Kamailio on loopback (registrar/proxy with digest auth), the
// reference provisioning service (HTTPS, its own CA) that writes Kamailio's users, and a far-end phone (baresip,
// auto-answering, playing a tone) as extension 1002. The lab's IT work is done with the admin CLI's own commands:
// user 1001 gets a PIN; the phone starts unprovisioned and is signed in on its keypad, as a real one would be.
// Everything stops with the phone.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import type { Logger } from "../src/base/log.js";
import { startRegistrar, type Registrar } from "../src/lab/registrar.js";
import { FarPhone } from "../src/lab/far-phone.js";
import { startProvisioningService } from "../src/provisioning/server/service.js";
import { loadServiceConfig } from "../src/provisioning/server/service-config.js";
import { adminMain } from "../src/provisioning/server/admin-cli.js";

export interface Lab {
  /** The provisioning service the phone signs in to, and the CA its certificate chains to. */
  provisioningUrl: string;
  provisioningCaPem: string;
  /** What to tell the person at the keyboard. */
  banner: string;
  stop(): Promise<void>;
}

/** The PIN the lab gives user 1001 (printed in the banner: the lab is a demo, not a site). */
export const LAB_PIN = "24680";

/** Starts the lab; resolves null (after saying why) when Kamailio is not installed. */
export async function startLab(dataDir: string, log: Logger): Promise<Lab | null> {
  const farPw = randomBytes(12).toString("base64url");
  let k: Registrar;
  try {
    k = await startRegistrar({ users: [], lifetimeS: 7 * 24 * 3600 });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no Kamailio; the phone runs without a PBX (npm run setup installs it)");
    return null;
  }
  const serviceConfig = path.join(dataDir, "lab-provisioning.json");
  await fs.writeFile(
    serviceConfig,
    JSON.stringify({ listen: "127.0.0.1:0", dataDir: path.join(dataDir, "lab-provisioning"), sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }] }, kamailioSubscriberFile: k.subscriberFile }, null, 2),
    { mode: 0o600 },
  );
  const service = await startProvisioningService(await loadServiceConfig(serviceConfig), { log });
  // IT's side, with the admin CLI's commands (what `npx deskphone-admin --config ... add-user ...` runs)
  const said: string[] = [];
  const io = { out: (t: string) => said.push(t), err: (t: string) => said.push(t) };
  const admin = (...a: string[]): Promise<number> => adminMain(["--config", serviceConfig, ...a], io);
  if ((await admin("list-users", "--json")) === 0 && !said.join("").includes('"1001"')) {
    await admin("add-user", "1001", "--name", "Lab", "--pin", LAB_PIN);
    await admin("add-user", "1002", "--name", "Far end", "--pin", "97531", "--sip-password", farPw);
  } else await admin("set-sip-password", "1002", "--sip-password", farPw);
  let far: FarPhone | undefined;
  try {
    far = await FarPhone.start({ user: "1002", password: farPw, registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 440, lifetimeS: 7 * 24 * 3600 });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no far-end phone (baresip)");
  }
  return {
    provisioningUrl: service.url,
    provisioningCaPem: service.caPem,
    banner: `lab: Kamailio on 127.0.0.1 (udp ${k.udpPort}, tcp ${k.tcpPort}, tls ${k.tlsPort}); provisioning ${service.url}; sign in on the phone as 1001, PIN ${LAB_PIN}${far ? "; then dial 1002 for a far-end phone that answers with a tone" : ""}`,
    stop: async () => {
      await far?.stop();
      await service.stop();
      await k.stop();
    },
  };
}
