// The shapes the location room's parts share: a location the phone knows (from the LIS, LLDP-MED, DHCP, the
// provisioning bundle or typed by the user), the HELD client's answer, and the emergency location policy (Lync's
// location policy fields, shared standards §5.2). Plain data: the shell stores, shows and sends them.
import type { CivicAddress } from "./pidf-lo.js";

/** Where a location came from, best first (standards §7 item 6: LIS > LLDP-MED civic > DHCP > provisioned > manual). */
export type LocationSource = "lis" | "lldp-med" | "dhcp" | "provisioned" | "manual";

export const SOURCE_RANK: Readonly<Record<LocationSource, number>> = { lis: 0, "lldp-med": 1, dhcp: 2, provisioned: 3, manual: 4 };

export interface KnownLocation {
  source: LocationSource;
  /** A PIDF-LO document ready to send: valid against pidf-lo-validate.xsd (built by the phone or normalised). */
  pidf: string;
  /** The address on one line for the screen ("1100 N Lamar BLVD, Tower 2, Fl 3, Suite 300, Rm 3-214"). */
  text: string;
  /** The civic address, when the location has one (the notification and the screen use it). */
  civic?: CivicAddress;
  /** An ECS ELIN (LLDP-MED location data format 3), sent as the calling number in ELIN mode. */
  elin?: string;
  /** Wall-clock ms when it was obtained. */
  obtainedAt: number;
  /** For a LIS location: the LIS it came from. */
  lisUrl?: string;
  /** For a LIS location: location-by-reference URIs the LIS gave too (RFC 5985 §6.5); they expire, see the LIS. */
  locationUris?: string[];
  /** Wall-clock ms of the PIDF-LO's retention-expiry, when it has one: recipients discard the location after it. */
  expiresAt?: number;
}

/** The phone's own identifiers sent to the LIS (RFC 6155 device identity). */
export interface DeviceIds {
  /** The address of the interface that reaches the LIS. */
  ip?: string;
  /** The Ethernet MAC, any separator (sent as XX-XX-XX-XX-XX-XX). */
  mac?: string;
  /**
   * The switch port the phone is plugged into, as LLDP gave it (LldpId.text: "00:1b:54:aa:bb:cc", "Gi1/0/7"). RFC 6155
   * has no element for it; it is sent in the reference LIS's extension (held.ts LLDP_ID_NS), as Lync phones send
   * ChassisID/PortID to theirs (MS-E911WS).
   */
  lldp?: { chassis: string; port: string };
}

/** The LIS to ask and how. */
export interface LisTarget {
  /** https: (or http: in a lab) URI of the LIS's HELD endpoint. */
  url: string;
  /** PEM CA certificate(s) trusted for the LIS (the system's when absent). */
  caPem?: string;
  /** The phone's own timeout for one HTTP exchange (ms). */
  timeoutMs: number;
  /** RFC 7852 provider-info URL put in provided-by when the LIS's PIDF-LO has none (RFC 6881 ED-41). */
  providerInfoUrl?: string;
}

/** HELD error codes (RFC 5985 §6.3, RFC 6155 §7.3). */
export type HeldErrorCode = "requestError" | "xmlError" | "generalLisError" | "locationUnknown" | "unsupportedMessage" | "timeout" | "cannotProvideLiType" | "notLocatable" | "badIdentifier";

/** The outcome of one locate (after the retries the HELD error rules allow). */
export type HeldOutcome =
  | { ok: true; location: KnownLocation; /** the LIS echoed the identifiers it used (RFC 6155 §4) */ usedIds?: string[] }
  | {
      ok: false;
      /** A HELD error code, or what went wrong below HELD. */
      code: HeldErrorCode | "http" | "tls" | "network" | "malformed" | "blocked";
      /** Plain words for the log and the status screen. */
      message: string;
    };

/** Location policy (Lync's Set-CsLocationPolicy meaning), from the config bundle. */
export interface LocationPolicy {
  enhancedEmergencyServicesEnabled: boolean;
  /** What the idle screen does when no location is known. */
  locationRequired: "no" | "yes" | "disclaimer";
  /** Shown when the user dismisses the location prompt under `disclaimer`. */
  disclaimer?: string;
  /** Lync: the location is used for emergency calls only (not published in presence). */
  useLocationForE911Only: boolean;
  /** The number emergency calls are sent as (e.g. "911"). */
  emergencyDialString: string;
  /** Dialled strings sent as `emergencyDialString` (e.g. ["112", "999"]). */
  emergencyDialMasks: string[];
  /** SIP URIs told by MESSAGE when an emergency call is placed (Kari's Law notification). */
  notificationUris: string[];
  /** The security desk conferenced into the call, and whether it may speak. */
  conferenceUri?: string;
  conferenceMode?: "oneway" | "twoway";
  /** Hours between location refreshes (Lync 1-12, default 4). */
  locationRefreshIntervalH: number;
  /** Lync's opaque LocationPolicyTagID, copied into every emergency PIDF-LO when set. */
  policyTagId?: string;
}

export const DEFAULT_LOCATION_POLICY: LocationPolicy = {
  enhancedEmergencyServicesEnabled: true,
  locationRequired: "no",
  useLocationForE911Only: true,
  emergencyDialString: "911",
  emergencyDialMasks: ["112"],
  notificationUris: [],
  locationRefreshIntervalH: 4,
};
