// The config bundle a signed-in phone gets (src/provisioning/config-bundle.ts, version 1): the user's account (SIP
// credentials, display name, the service's SIP domain and servers), the dial plan, the lock policy and the company
// directory (every user by display name and extension; private lines are never listed), the logging policy, and the
// emergency side: the location policy (Lync's fields) and the emergency policy (the LIS, emergency routes).
// Checked with checkBundle before it leaves. Delegation and private line have no place in bundle v1 yet.
import { checkBundle, type BundleServer, type ConfigBundle } from "../config-bundle.js";
import type { ProvisioningStore } from "./store.js";

export interface BundleSource {
  sip: { domain: string; servers: BundleServer[] };
  dialPlan?: ConfigBundle["dialPlan"];
  /** PEM text. */
  trustedCAs?: string[];
}

export const DEFAULT_DIAL_PLAN: NonNullable<ConfigBundle["dialPlan"]> = { emergencyNumbers: ["911", "112"], emergencyMasks: { "112": "911" }, outsideLinePrefix: "9", extensionLength: 4 };

/** The bundle schema's limit on directory entries. */
const DIRECTORY_MAX = 500;

/** Builds and checks `extension`'s bundle; undefined when there is no such user. */
export function buildUserBundle(store: ProvisioningStore, extension: string, src: BundleSource): ConfigBundle | undefined {
  const user = store.getUser(extension);
  if (!user) return undefined;
  const lock = store.getPolicy("lock") as ConfigBundle["lock"] | undefined;
  const logging = store.getPolicy("logging") as ConfigBundle["logging"] | undefined;
  const locationPolicy = store.getPolicy("location") as ConfigBundle["locationPolicy"] | undefined;
  const emergency = store.getPolicy("emergency") as Pick<ConfigBundle, "location" | "emergency"> | undefined;
  const directory = store
    .listUsers()
    .map((u) => ({ name: u.displayName.slice(0, 64), number: u.extension }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.number.localeCompare(b.number))
    .slice(0, DIRECTORY_MAX);
  const bundle: ConfigBundle = {
    version: 1,
    accounts: [
      {
        user: user.extension,
        password: user.sipPassword,
        ...(user.sipUser !== user.extension ? { authUser: user.sipUser } : {}),
        displayName: user.displayName.slice(0, 64),
        domain: src.sip.domain,
        servers: src.sip.servers.map((s) => ({ ...s })),
      },
    ],
    dialPlan: src.dialPlan ?? DEFAULT_DIAL_PLAN,
    ...(lock ? { lock } : {}),
    ...(logging ? { logging } : {}),
    ...(locationPolicy ? { locationPolicy } : {}),
    ...(emergency?.location ? { location: emergency.location } : {}),
    ...(emergency?.emergency ? { emergency: emergency.emergency } : {}),
    directory,
    ...(src.trustedCAs?.length ? { trustedCAs: src.trustedCAs } : {}),
  };
  return checkBundle(bundle, `bundle for ${extension}`);
}
