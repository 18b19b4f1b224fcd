// The SIP credentials where Kamailio reads them: its db_text `subscriber` table, the same header and rows the lab's
// registrar writes (src/lab/registrar.ts), replaced atomically (0600: it holds passwords in clear) after every change
// to users or SIP passwords, by the service and by the admin CLI alike.
import { writeFileAtomic } from "../../base/atomic-file.js";
import type { ProvisioningStore } from "./store.js";

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
