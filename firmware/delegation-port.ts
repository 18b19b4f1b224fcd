// The PhoneShell's delegation port (ShellDelegation): tells a boss's phone that a delegate answered, saves a boss's
// delegate list with the provisioning service (telling each delegate added or removed), and refetches the config when
// a boss changed this user's bosses. Everything it needs comes from the entry as getters (the line and the
// provisioning change while the phone runs).
import type { Logger } from "../src/base/log.js";
import type { ShellDelegation } from "../src/phone/shell.js";
import type { PhoneConfig } from "../src/phone/core/phone-state.js";
import type { BundleAccount, ConfigBundle } from "../src/provisioning/config-bundle.js";
import type { ProvisionedState } from "../src/provisioning/device-store.js";
import { failureWords, putDelegates, type ServiceFailure, type ServiceTarget } from "../src/provisioning/provisioning-client.js";
import type { SipPhone } from "../src/sip/sip-phone.js";
import { DELEGATION_CONTENT_TYPE, formatDelegationNotice } from "../src/sip/delegation-notice.js";
import { phoneConfigOf } from "./phone-config.js";

export interface DelegationPortDeps {
  /** The running line, if any (no MESSAGE is sent without one). */
  sip(): Pick<SipPhone, "sendMessage"> | undefined;
  /** The line's account (the bundle's first), if any. */
  account(): Pick<BundleAccount, "user" | "domain" | "displayName"> | undefined;
  /** What the service gave when the phone signed in; null on a phone run from --config or not signed in. */
  provisioned(): ProvisionedState | null;
  /** Where to reach the service for a provisioned phone (the same target the config refresh uses). */
  serviceTarget(p: ProvisionedState): ServiceTarget;
  /** The config bundle the phone runs with now. */
  bundle(): ConfigBundle | null;
  /** The phone's dispatch, for putting the bundle's config back after a refused save. */
  dispatch(e: { type: "config"; config: PhoneConfig }): void;
  /** Records a failure with the service in IT's error report. */
  problem(step: "refresh", f: ServiceFailure, server: string): Promise<void>;
  /** Fetches the config again from the service. A new config never drops a call (firmware/line-changes.ts): a
   * delegation change applies in place at once; one that restarts the line waits until the phone is free. */
  refresh(): Promise<void>;
  /** A time of day as the phone shows it, for the failure words ("locked until 14:05"). */
  hhmmOf(d: Date): string;
  log: Pick<Logger, "info">;
  /** The service call that saves the list; provisioning-client's putDelegates unless a test gives another. */
  putDelegates?: typeof putDelegates;
}

export function delegationPort(deps: DelegationPortDeps): ShellDelegation {
  const { log, hhmmOf } = deps;
  const save = deps.putDelegates ?? putDelegates;
  return {
    notifyAnswered: (boss, caller, callerName) => {
      const sip = deps.sip();
      const acc = deps.account();
      if (!sip || !acc) return;
      const body = formatDelegationNotice({ kind: "delegate-answered", boss, caller, ...(callerName ? { callerName } : {}), delegate: acc.user });
      void sip.sendMessage(`sip:${boss}@${acc.domain}`, body, DELEGATION_CONTENT_TYPE).then((code) => log.info({ boss, code }, "the boss was told a delegate answered"));
    },
    setDelegates: async (list, ring) => {
      const p = deps.provisioned();
      if (!p) return { ok: false, message: "Delegates are kept by the provisioning service: this phone has none" };
      const target = deps.serviceTarget(p);
      const r = await save(target, p.certificatePem, p.privateKeyPem, list.map((d) => d.number), ring && { ringMode: ring.ringMode, ringDelaySeconds: Math.round(ring.ringDelayMs / 1000) });
      if ("kind" in r) {
        await deps.problem("refresh", r, p.serviceUrl);
        // the core showed the change already: back to the list the service gave last (else the refused number would
        // go with every later save, and be refused again)
        const bundle = deps.bundle();
        if (bundle) deps.dispatch({ type: "config", config: phoneConfigOf(bundle) });
        return { ok: false, message: `Delegates not saved: ${r.kind === "refused" ? r.reason : failureWords(r, hhmmOf)}` };
      }
      // each delegate added or removed is told at once (their phones fetch their new bosses)
      const sip = deps.sip();
      const acc = deps.account();
      if (sip && acc)
        for (const [kind, numbers] of [["delegate-added", r.added], ["delegate-removed", r.removed]] as const)
          for (const n of numbers) void sip.sendMessage(`sip:${n}@${acc.domain}`, formatDelegationNotice({ kind, boss: acc.user, ...(acc.displayName ? { bossName: acc.displayName } : {}) }), DELEGATION_CONTENT_TYPE);
      void deps.refresh();
      return { ok: true, message: "" };
    },
    changed: () => void deps.refresh(),
  };
}
