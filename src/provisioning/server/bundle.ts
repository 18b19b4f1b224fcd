// The config bundle a signed-in phone gets (src/provisioning/config-bundle.ts, version 1): the user's account (SIP
// credentials, display name, the service's SIP domain and servers), the dial plan, the lock policy and the company
// directory (every user by display name and extension; private lines are never listed), the logging policy, and the
// emergency side: the location policy (Lync's fields) and the emergency policy (the LIS, emergency routes); the
// user's private line (theirs alone: never in the directory), and, when IT's delegation policy enables it, the
// user's ring mode, delegates and bosses (and who forks boss calls, when the policy says). Checked with checkBundle
// before it leaves.
import { checkBundle, DELEGATION_FORKING, MAX_BOSSES, MAX_DELEGATES, type BundleDelegation, type BundleServer, type ConfigBundle, type DelegationForking } from "../config-bundle.js";
import type { ProvisioningStore } from "./store.js";

/** Whether IT's delegation policy (`policy set delegation '{"enabled":true}'`) turns boss / delegate calling on. */
export function delegationEnabled(store: ProvisioningStore): boolean {
  const p = store.getPolicy("delegation");
  return !!p && typeof p === "object" && (p as { enabled?: unknown }).enabled === true;
}

/**
 * Who rings a boss's delegates, as IT's delegation policy says (`"forking": "server" | "phone"`); undefined when the
 * policy does not say (the PBX forks: "server").
 */
export function delegationForking(store: ProvisioningStore): DelegationForking | undefined {
  const f = (store.getPolicy("delegation") as { forking?: unknown } | undefined)?.forking;
  return (DELEGATION_FORKING as readonly unknown[]).includes(f) ? (f as DelegationForking) : undefined;
}

/** `extension`'s delegation block (their ring mode, delegates and bosses), whatever the policy says. */
export function delegationOf(store: ProvisioningStore, extension: string): BundleDelegation | undefined {
  const user = store.getUser(extension);
  if (!user) return undefined;
  // the admin operations and the API keep within the limits; a database edited by other means is cut, not refused
  return {
    enabled: true,
    ringMode: user.ringMode,
    ringDelaySeconds: user.ringDelaySeconds,
    delegates: store
      .delegatesOf(extension)
      .slice(0, MAX_DELEGATES)
      .map((d) => ({ number: d.extension, name: d.displayName.slice(0, 64) })),
    bosses: store
      .bossesOf(extension)
      .slice(0, MAX_BOSSES)
      .map((b) => ({ number: b.extension, name: b.displayName.slice(0, 64), ringMode: b.ringMode, ringDelaySeconds: b.ringDelaySeconds })),
  };
}

export interface BundleSource {
  sip: { domain: string; servers: BundleServer[]; gruu?: boolean };
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
  const own = delegationEnabled(store) ? delegationOf(store, extension) : undefined;
  // `forking` only when the policy sets it: a bundle without it means "server", as before the field existed
  const forking = delegationForking(store);
  const delegation = own && forking ? { ...own, forking } : own;
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
    ...(src.sip.gruu ? { sip: { gruu: true } } : {}),
    ...(lock ? { lock } : {}),
    ...(logging ? { logging } : {}),
    ...(locationPolicy ? { locationPolicy } : {}),
    ...(emergency?.location ? { location: emergency.location } : {}),
    ...(emergency?.emergency ? { emergency: emergency.emergency } : {}),
    directory,
    ...(user.privateLine ? { privateLine: { number: user.privateLine } } : {}),
    ...(delegation ? { delegation } : {}),
    ...(src.trustedCAs?.length ? { trustedCAs: src.trustedCAs } : {}),
  };
  return checkBundle(bundle, `bundle for ${extension}`);
}
