// The lab a newcomer gets with `npm start`: a real Kamailio on loopback (registrar/proxy with digest auth), the
// reference provisioning service (HTTPS, its own CA) that writes Kamailio's users, and a far-end phone (baresip,
// auto-answering, playing a tone) as extension 1002. The lab's IT work is done with the admin CLI's own commands:
// user 1001 gets a PIN; the phone starts unprovisioned and is signed in on its keypad, as a real one would be.
// Emergency calls work in the lab too: the reference LIS (HELD over HTTPS) answers every phone with the address in
// DATA_DIR/lab-wiremap.json (IT's file: edit it, the LIS reloads it), the emergency policy the service hands out
// points the phone at it, Kamailio routes 911 (urn:service:sos) to a PSAP (a second baresip that answers with a
// 660 Hz tone), and 1002 is told by MESSAGE. Delegation and the private line (README "Boss and delegate") are on too:
// IT's policy enables delegation, 1001 gets the private line 2001 and the far end (1002) as its delegate, so the
// phone at the keyboard is a boss (Menu > Delegates lists Far end; the ring mode can be changed there). The policy's
// forking is "phone": the boss's phone rings its delegates itself, so what its user changes in Menu > Delegates works
// at once, with no PBX change. Kamailio takes the rest of the routing from the service's store once those commands
// ran (started again before any phone registers): 2001 is an alias of 1001 (its calls ring only the phone, "Private
// line"), and 1002 may call on 1001's behalf (P-Preferred-Identity becomes P-Asserted-Identity). A call to 1001 from
// anyone else rings 1002 too, by the phone (which answers at once: "Answered by Far end"). Everything stops with the
// phone.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import type { Logger } from "../src/base/log.js";
import { startRegistrar, type Registrar } from "../src/lab/registrar.js";
import { FarPhone } from "../src/lab/far-phone.js";
import { startProvisioningService } from "../src/provisioning/server/service.js";
import type { RegistrarRouting } from "../src/provisioning/server/kamailio-subscribers.js";
import { loadServiceConfig } from "../src/provisioning/server/service-config.js";
import { adminMain } from "../src/provisioning/server/admin-cli.js";
import { freePort } from "../src/lab/registrar.js";
import { startLisServer, type LisServer } from "../src/location/lis/lis-server.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The lab's site: where every phone on the lab's network is (TV-1's office; edit lab-wiremap.json to move it). */
const LAB_WIREMAP = {
  comment: "The lab LIS's wiremap: entries by mac, chassis+port or subnet; default for everyone else. Edit and save: the LIS reloads it.",
  entries: [],
  default: { civic: { lang: "en-US", country: "US", A1: "TX", A3: "Austin", PRD: "N", RD: "Lamar", STS: "BLVD", HNO: "1100", FLR: "3", PC: "78703", BLD: "Tower 2", ROOM: "3-214" } },
};

/** The lab LIS over HTTPS with a certificate of its own (made once, kept in DATA_DIR/lab-lis). */
async function startLabLis(dataDir: string, log: Logger): Promise<LisServer> {
  const dir = path.join(dataDir, "lab-lis");
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
  if (!(await fs.stat(cert).catch(() => null))) {
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
  }
  const wiremap = path.join(dataDir, "lab-wiremap.json");
  if (!(await fs.stat(wiremap).catch(() => null))) await fs.writeFile(wiremap, JSON.stringify(LAB_WIREMAP, null, 2) + "\n");
  return startLisServer({ wiremapFile: wiremap, port: 0, host: "127.0.0.1", tls: { certPem: await fs.readFile(cert, "utf8"), keyPem: await fs.readFile(key, "utf8") }, log });
}

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

/** The private line the lab gives user 1001. */
export const LAB_PRIVATE_LINE = "2001";

/** The delegates of `boss` in `delegate list --json`'s output (none when it cannot be read). */
function delegatesOf(json: string, boss: string): string[] {
  try {
    const rows = JSON.parse(json) as Array<{ boss: string; delegates: Array<{ extension: string }> }>;
    return rows.find((r) => r.boss === boss)?.delegates.map((d) => d.extension) ?? [];
  } catch {
    return [];
  }
}

/** Starts the lab; resolves null (after saying why) when Kamailio is not installed. */
export async function startLab(dataDir: string, log: Logger): Promise<Lab | null> {
  const farPw = randomBytes(12).toString("base64url");
  let k: Registrar;
  const psapPort = await freePort();
  try {
    k = await startRegistrar({ users: [], lifetimeS: 7 * 24 * 3600, emergencyRoute: { host: "127.0.0.1", port: psapPort, transport: "tcp", psapUser: "1999" } });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no Kamailio; the phone runs without a PBX (npm run setup installs it)");
    return null;
  }
  // the lab's Kamailio hands out and routes GRUUs (RFC 5627): its phones use one as their Contact (ED-63)
  const serviceConfig = path.join(dataDir, "lab-provisioning.json");
  await fs.writeFile(
    serviceConfig,
    JSON.stringify({ listen: "127.0.0.1:0", dataDir: path.join(dataDir, "lab-provisioning"), sip: { domain: "127.0.0.1", servers: [{ host: "127.0.0.1", port: k.tcpPort, transport: "tcp" }], gruu: true }, kamailioSubscriberFile: k.subscriberFile }, null, 2),
    { mode: 0o600 },
  );
  // the private numbers are Kamailio's: one changed (admin CLI) is taken at the next start (a restart now would lose
  // every registration, and the lab's baresips do not register again by themselves for long)
  const onRoutingChanged = (r: RegistrarRouting): void => log.info({ aliases: r.aliases }, "lab: the routing changed; the lab's Kamailio takes it at the next npm start");
  const service = await startProvisioningService(await loadServiceConfig(serviceConfig), { log, onRoutingChanged });
  // IT's side, with the admin CLI's commands (what `npx deskphone-admin --config ... add-user ...` runs)
  const said: string[] = [];
  const io = { out: (t: string) => said.push(t), err: (t: string) => said.push(t) };
  const admin = (...a: string[]): Promise<number> => adminMain(["--config", serviceConfig, ...a], io);
  if ((await admin("list-users", "--json")) === 0 && !said.join("").includes('"1001"')) {
    await admin("add-user", "1001", "--name", "Lab", "--pin", LAB_PIN);
    await admin("add-user", "1002", "--name", "Far end", "--pin", "97531", "--sip-password", farPw);
  } else await admin("set-sip-password", "1002", "--sip-password", farPw);
  // delegation and the private line, once per lab (what its user changes on the phone afterwards stays): 1001 is the
  // boss, the far end its delegate
  const before = said.length;
  if ((await admin("policy", "show", "delegation", "--json")) === 0 && said.slice(before).join("").trim() === "null") {
    await admin("policy", "set", "delegation", JSON.stringify({ enabled: true, forking: "phone" }));
    await admin("set-private-line", "1001", LAB_PRIVATE_LINE);
    await admin("delegate", "add", "1001", "1002");
  }
  // Kamailio gets the service's routing before anyone registers: private numbers as aliases, each delegate allowed to
  // call as its bosses (P-Preferred-Identity), and no forking of a boss's calls (none comes with the policy's forking
  // "phone": the boss's phone rings its delegates; Kamailio would fork only with "server")
  const routing = service.registrarRouting();
  await k.reconfigure({ aliases: routing.aliases, delegations: routing.delegations, assertedIdentity: routing.assertedIdentity });
  const privateLine = Object.keys(routing.aliases).find((n) => routing.aliases[n] === "1001");
  const listed: string[] = [];
  await adminMain(["--config", serviceConfig, "delegate", "list", "--json"], { out: (t) => listed.push(t), err: () => undefined });
  const delegates = delegatesOf(listed.join(""), "1001");
  const psapPw = randomBytes(12).toString("base64url");
  if ((await admin("set-sip-password", "1999", "--sip-password", psapPw)) !== 0) await admin("add-user", "1999", "--name", "Lab PSAP", "--pin", "86420", "--sip-password", psapPw);
  // the emergency side: the LIS the phones ask, and who hears of a 911 call (1002, the far-end phone)
  let lis: LisServer | undefined;
  try {
    lis = await startLabLis(dataDir, log);
    await admin("policy", "set", "emergency", JSON.stringify({ location: { lisUrl: lis.url, lisCa: await fs.readFile(path.join(dataDir, "lab-lis", "cert.pem"), "utf8") } }));
    await admin("policy", "set", "location", JSON.stringify({ notificationUri: "sip:1002@127.0.0.1" }));
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no LIS (emergency calls go out without a location)");
  }
  let far: FarPhone | undefined;
  try {
    far = await FarPhone.start({ user: "1002", password: farPw, registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 440, lifetimeS: 7 * 24 * 3600 });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no far-end phone (baresip)");
  }
  let psap: FarPhone | undefined;
  try {
    psap = await FarPhone.start({ user: "1999", password: psapPw, registrar: { port: k.tcpPort, transport: "tcp" }, answer: "auto", toneHz: 660, sipPort: psapPort, lifetimeS: 7 * 24 * 3600 });
  } catch (e) {
    log.warn({ err: (e as Error).message }, "lab: no PSAP (baresip): 911 calls will fail in the lab");
  }
  return {
    provisioningUrl: service.url,
    provisioningCaPem: service.caPem,
    banner: `lab: Kamailio on 127.0.0.1 (udp ${k.udpPort}, tcp ${k.tcpPort}, tls ${k.tlsPort}); provisioning ${service.url}; sign in on the phone as 1001, PIN ${LAB_PIN}${far ? "; then dial 1002 for a far-end phone that answers with a tone" : ""}${lis ? `; LIS ${lis.url} (address in ${path.join(dataDir, "lab-wiremap.json")})` : ""}${psap ? "; 911 reaches a lab PSAP (660 Hz tone)" : ""}${privateLine ? `; 1001's private line: ${privateLine} (its calls ring only the phone, "Private line")` : ""}${delegates.length ? `; 1001's delegates: ${delegates.join(", ")} (the phone rings them too for calls to 1001; Menu > Delegates)` : ""}`,
    stop: async () => {
      await psap?.stop();
      await lis?.stop();
      await far?.stop();
      await service.stop();
      await k.stop();
    },
  };
}
