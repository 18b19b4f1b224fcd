// The SIP credentials where Kamailio reads them: its db_text `subscriber` table, the same header and rows the lab's
// registrar writes (src/lab/registrar.ts), replaced atomically (0600: it holds passwords in clear) after every change
// to users or SIP passwords, by the service and by the admin CLI alike. Also what the lab's registrar needs to route
// private lines and delegation (registrarRouting), read from the same store.
import { writeFileAtomic } from "../../base/atomic-file.js";
import { ProvisioningStore } from "./store.js";
import { delegationEnabled, delegationForking } from "./bundle.js";

export const SUBSCRIBER_HEADER = "id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null)";

/** db_text escapes its column separator and the escape character with a backslash. */
const escape = (v: string): string => v.replace(/[:\\]/g, (c) => "\\" + c);

/** The table's text: the header, then `id:username:domain:password::` per user (ids 1.., in the given order). */
export function subscriberTable(users: ReadonlyArray<{ sipUser: string; sipPassword: string }>, domain: string): string {
  const rows = users.map((u, i) => `${i + 1}:${escape(u.sipUser)}:${escape(domain)}:${escape(u.sipPassword)}::`);
  return `${SUBSCRIBER_HEADER}\n${rows.map((r) => r + "\n").join("")}`;
}

/** Rewrites the subscriber file from the store's users (ordered by extension). */
export async function writeSubscriberFile(file: string, store: ProvisioningStore, domain: string): Promise<void> {
  await writeFileAtomic(file, subscriberTable(store.listUsers(), domain), { mode: 0o600 });
}

/**
 * What the registrar needs besides the credentials (the options `aliases`, `delegations` and `assertedIdentity` of
 * src/lab/registrar.ts's startRegistrar): `aliases` maps each private line to its user's extension (calls to it reach
 * the user, and never their delegates); `delegations` maps each boss's extension to their delegates' extensions, only
 * while IT's delegation policy enables delegation and leaves the forking to the PBX (empty otherwise: with
 * `"forking": "phone"` the boss's phone calls the delegates, and a PBX forking too would ring them twice); `ringDelays`
 * gives each boss in `delegations` the seconds before the delegates ring (0: at once, ring mode "simultaneous");
 * `assertedIdentity` maps each delegate's extension to their bosses' extensions, the identities the delegate may call
 * as (P-Preferred-Identity, RFC 3325), whenever the policy enables delegation, whoever forks.
 */
export interface RegistrarRouting {
  aliases: Record<string, string>;
  delegations: Record<string, string[]>;
  ringDelays: Record<string, number>;
  assertedIdentity: Record<string, string[]>;
}

/** The private lines and delegations in `store`, as the registrar takes them (keys and lists by extension). */
export function registrarRouting(store: ProvisioningStore): RegistrarRouting {
  const aliases: Record<string, string> = {};
  const delegations: Record<string, string[]> = {};
  const ringDelays: Record<string, number> = {};
  const assertedIdentity: Record<string, string[]> = {};
  const users = store.listUsers();
  for (const u of users) if (u.privateLine) aliases[u.privateLine] = u.extension;
  if (delegationEnabled(store)) {
    const pairs = store.delegations();
    for (const d of pairs) (assertedIdentity[d.delegate] ??= []).push(d.boss);
    if (delegationForking(store) !== "phone") {
      const byExt = new Map(users.map((u) => [u.extension, u]));
      for (const d of pairs) (delegations[d.boss] ??= []).push(d.delegate);
      for (const boss of Object.keys(delegations)) {
        const u = byExt.get(boss);
        ringDelays[boss] = u?.ringMode === "delayed" ? u.ringDelaySeconds : 0;
      }
    }
  }
  return { aliases, delegations, ringDelays, assertedIdentity };
}

/** registrarRouting from the service's SQLite file (DATA_DIR/provisioning.db), opened and closed again. */
export function readRegistrarRouting(dbFile: string): RegistrarRouting {
  const store = ProvisioningStore.open(dbFile);
  try {
    return registrarRouting(store);
  } finally {
    store.close();
  }
}
