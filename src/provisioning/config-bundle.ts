// The phone's config bundle, version 1: what provisioning delivers and what `phone --config FILE` takes by hand.
// Accounts (server, transport, user, password), dial plan, features (caller-ID hiding, call waiting, forward), lock,
// trusted CAs. Validated with a JSON schema (ajv); every error names the field.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { PhoneError, ErrorCodes } from "../base/errors.js";

export interface BundleServer {
  host: string;
  port?: number;
  transport: "udp" | "tcp" | "tls";
  /** Emergency calls only: a TLS server that does not connect is tried at once over TCP on this port (RFC 6881 ED-58). */
  fallbackTcpPort?: number;
}

export interface BundleAccount {
  user: string;
  password: string;
  authUser?: string;
  displayName?: string;
  domain: string;
  servers: BundleServer[];
  expires?: number;
  mwi?: boolean;
  /** How calls to this line ring (Telcordia distinctive ring cadences); the caller's Alert-Info may choose another. */
  ringPattern?: "standard" | "double" | "triple" | "short";
}

export interface ConfigBundle {
  version: 1;
  accounts: BundleAccount[];
  dialPlan?: { emergencyNumbers?: string[]; emergencyMasks?: Record<string, string>; outsideLinePrefix?: string; extensionLength?: number; patterns?: string[]; interdigitMs?: number };
  features?: {
    hideCallerId?: boolean;
    callWaiting?: boolean;
    forward?: { always?: string | null; busy?: string | null; noAnswer?: string | null; noAnswerSeconds?: number };
  };
  lock?: { pin?: string | null; afterIdleMinutes?: number };
  /** PEM text of trusted CAs, or paths to PEM files (relative to the bundle). */
  trustedCAs?: string[];
  /** The company directory for the Directory menu. */
  directory?: Array<{ name: string; number: string }>;
  /** DNS servers for finding the SIP servers (SRV, A); the system's when absent. "10.0.0.53" or "10.0.0.53:5353". */
  dnsServers?: string[];
  /** The SIP line: the supervisor's timing (labs and tests shorten it), the UDP size limit, and GRUU. */
  sip?: BundleSip;
  /**
   * Media policy. codecs: offered in this order (default G722, PCMU, PCMA). srtp: "required" = every call is SRTP
   * (AES_CM_128_HMAC_SHA1_80, SDES keys, so the account must use TLS); a call the far end will not encrypt fails with
   * a reason, never silently in the clear. "off" (default) offers plain RTP but accepts an SRTP offer.
   * qualityCollector: a SIP URI the end-of-call quality report (RFC 6035 vq-rtcpxr) is PUBLISHed to.
   */
  media?: { codecs?: Array<"G722" | "PCMU" | "PCMA">; srtp?: "off" | "required"; qualityCollector?: string };
  /** IT's logging policy: detailed logs and SIP traces stay off unless it turns them on (credentials are always cut). */
  logging?: { level?: "error" | "warn" | "info" | "debug" | "trace"; sipTrace?: boolean };
  /**
   * Emergency location policy, with the meaning of Lync's Set-CsLocationPolicy fields (standards §5.2), camelCased.
   * emergencyDialMask is Lync's ";"-separated list and notificationUri its ","-separated list. Absent = enabled
   * with no prompt, dial string 911, mask 112, refresh every 4 hours.
   */
  locationPolicy?: {
    enhancedEmergencyServicesEnabled?: boolean;
    locationRequired?: "no" | "yes" | "disclaimer";
    enhancedEmergencyServiceDisclaimer?: string;
    useLocationForE911Only?: boolean;
    emergencyDialString?: string;
    emergencyDialMask?: string;
    notificationUri?: string;
    conferenceUri?: string;
    conferenceMode?: "oneway" | "twoway";
    locationRefreshInterval?: number;
    locationPolicyTagId?: string;
  };
  /**
   * Where the phone's location comes from: the LIS (HELD URL and the CA it is trusted by, PEM text or a path), a
   * static civic address IT set for this phone (RFC 5139 element names), the interface LLDP-MED is read on.
   */
  location?: { lisUrl?: string; lisCa?: string; civic?: Record<string, string>; lldpInterface?: string };
  /**
   * How emergency calls are sent. requestUri: "service-urn" (urn:service:sos, RFC 6881) or "dial-string"
   * (sip:911@domain;user=phone). routes: tried when the registrar cannot be reached (an SBC or second proxy).
   * lync: Lync-compatible extras (Supported: geolocation, msftE911PidfExtn). elinCallerId: send the LLDP-MED ELIN as
   * the calling number. callbackMinutes: how long DND and forwarding stay off after the call (PSAP callback).
   * testCalls: Menu > Location offers a test call to urn:service:test.sos (RFC 6881 ED-77), never within
   * testAfterBootMinutes of start (default 30, ED-81).
   */
  emergency?: { requestUri?: "service-urn" | "dial-string"; routes?: BundleServer[]; lync?: boolean; elinCallerId?: boolean; callbackMinutes?: number; testCalls?: boolean; testAfterBootMinutes?: number };
  /**
   * The user's private line (Lync's): a second number, inbound only, never in the directory. Calls to it ring with
   * `ringPattern` (the phone picks a distinct one when absent), ring through DND, and are never forwarded or sent to
   * delegates.
   */
  privateLine?: BundlePrivateLine;
  /**
   * Boss / delegate calling, present only when IT's delegation policy enables it. ringMode and ringDelaySeconds are
   * this user's own as a boss (calls to them ring their delegates at once, or after that many seconds); delegates are
   * this user's delegates (the boss edits them on the phone: PUT /v1/delegates); bosses are the users this user is a
   * delegate of, each with that boss's ring mode.
   */
  delegation?: BundleDelegation;
}

export interface BundleSip {
  retryFirstMs?: number;
  retryMaxMs?: number;
  pingMs?: number;
  pingTimeoutMs?: number;
  keepAliveMs?: number;
  udpMaxBytes?: number;
  /**
   * GRUU (RFC 5627), default false. Turn it on when the PBX routes requests to GRUUs: the phone then registers with its
   * stable instance id (`+sip.instance`, DATA_DIR/instance-id) and, when the registrar hands out a GRUU, sip.js puts
   * that GRUU in the Contact of every call, so in-dialog requests (ACK, BYE, re-INVITE) are sent to it. A proxy that
   * does not route GRUUs loses them (ACKs lost, calls dropped after 32 s): hence off unless IT says so. Emergency
   * calls (ED-63) want a globally routable Contact, which a GRUU or an SBC's mapping of the plain Contact gives.
   */
  gruu?: boolean;
}

export type RingMode = "simultaneous" | "delayed";

export interface BundlePrivateLine {
  number: string;
  ringPattern?: "standard" | "double" | "triple" | "short";
}

export interface BundleDelegation {
  enabled: boolean;
  ringMode: RingMode;
  ringDelaySeconds: number;
  delegates: Array<{ number: string; name?: string }>;
  bosses: Array<{ number: string; name?: string; ringMode: RingMode; ringDelaySeconds: number }>;
  /**
   * Who rings the delegates for a boss's calls. "server" (the default, when absent): the PBX forks them. "phone": the
   * boss's phone calls its delegates itself, for a PBX that does not fork.
   */
  forking?: DelegationForking;
}

/** Who rings a boss's delegates: the PBX ("server") or the boss's own phone ("phone"). */
export const DELEGATION_FORKING = ["server", "phone"] as const;
export type DelegationForking = (typeof DELEGATION_FORKING)[number];

/** The most delegates a boss has, and the most bosses a delegate serves (Lync's limits were of this order). */
export const MAX_DELEGATES = 8;
export const MAX_BOSSES = 4;
/** The longest delay before a boss's calls ring the delegates ("delayed" ring mode). */
export const MAX_RING_DELAY_SECONDS = 60;

/** A dialable number in the delegation and private-line fields: digits, +, * and #. */
const dialNumber = { type: "string", minLength: 1, maxLength: 32, pattern: "^[0-9*#+]+$" } as const;
const ringMode = { enum: ["simultaneous", "delayed"] } as const;
const ringDelaySeconds = { type: "integer", minimum: 0, maximum: MAX_RING_DELAY_SECONDS } as const;
const personName = { type: "string", minLength: 1, maxLength: 64 } as const;

const server = {
  type: "object",
  additionalProperties: false,
  required: ["host", "transport"],
  properties: { host: { type: "string", minLength: 1 }, port: { type: "integer", minimum: 1, maximum: 65535 }, transport: { enum: ["udp", "tcp", "tls"] }, fallbackTcpPort: { type: "integer", minimum: 1, maximum: 65535 } },
};

export const CONFIG_BUNDLE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "accounts"],
  properties: {
    version: { const: 1 },
    accounts: {
      type: "array",
      minItems: 1,
      maxItems: 2,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["user", "password", "domain", "servers"],
        properties: {
          user: { type: "string", pattern: "^[A-Za-z0-9._+-]+$" },
          password: { type: "string" },
          authUser: { type: "string" },
          displayName: { type: "string", maxLength: 64 },
          domain: { type: "string", minLength: 1 },
          servers: { type: "array", minItems: 1, maxItems: 4, items: server },
          expires: { type: "integer", minimum: 30, maximum: 86400 },
          mwi: { type: "boolean" },
          ringPattern: { enum: ["standard", "double", "triple", "short"] },
        },
      },
    },
    dialPlan: {
      type: "object",
      additionalProperties: false,
      properties: {
        emergencyNumbers: { type: "array", minItems: 1, items: { type: "string", pattern: "^[0-9*#]+$" } },
        emergencyMasks: { type: "object", additionalProperties: { type: "string", pattern: "^[0-9*#]+$" } },
        outsideLinePrefix: { type: "string", pattern: "^[0-9]*$" },
        extensionLength: { type: "integer", minimum: 0, maximum: 12 },
        patterns: { type: "array", items: { type: "string", pattern: "^[0-9*#X]+\\.?$" } },
        interdigitMs: { type: "integer", minimum: 1000, maximum: 30000 },
      },
    },
    features: {
      type: "object",
      additionalProperties: false,
      properties: {
        hideCallerId: { type: "boolean" },
        callWaiting: { type: "boolean" },
        forward: {
          type: "object",
          additionalProperties: false,
          properties: {
            always: { type: ["string", "null"] },
            busy: { type: ["string", "null"] },
            noAnswer: { type: ["string", "null"] },
            noAnswerSeconds: { type: "integer", minimum: 5, maximum: 120 },
          },
        },
      },
    },
    lock: {
      type: "object",
      additionalProperties: false,
      properties: { pin: { type: ["string", "null"], pattern: "^[0-9]{4,12}$" }, afterIdleMinutes: { type: "integer", minimum: 0, maximum: 1440 } },
    },
    trustedCAs: { type: "array", items: { type: "string" } },
    directory: {
      type: "array",
      maxItems: 500,
      items: { type: "object", additionalProperties: false, required: ["name", "number"], properties: { name: { type: "string", minLength: 1, maxLength: 64 }, number: { type: "string", pattern: "^[0-9*#+]+$" } } },
    },
    dnsServers: { type: "array", maxItems: 4, items: { type: "string", pattern: "^[0-9a-fA-F.:\\[\\]]+$" } },
    sip: {
      type: "object",
      additionalProperties: false,
      properties: {
        retryFirstMs: { type: "integer", minimum: 100 },
        retryMaxMs: { type: "integer", minimum: 100 },
        pingMs: { type: "integer", minimum: 0 },
        pingTimeoutMs: { type: "integer", minimum: 100 },
        keepAliveMs: { type: "integer", minimum: 0 },
        udpMaxBytes: { type: "integer", minimum: 200, maximum: 65000 },
        gruu: { type: "boolean" },
      },
    },
    logging: {
      type: "object",
      additionalProperties: false,
      properties: { level: { enum: ["error", "warn", "info", "debug", "trace"] }, sipTrace: { type: "boolean" } },
    },
    locationPolicy: {
      type: "object",
      additionalProperties: false,
      properties: {
        enhancedEmergencyServicesEnabled: { type: "boolean" },
        locationRequired: { enum: ["no", "yes", "disclaimer"] },
        enhancedEmergencyServiceDisclaimer: { type: "string", maxLength: 512 },
        useLocationForE911Only: { type: "boolean" },
        emergencyDialString: { type: "string", pattern: "^[0-9]{1,10}$" },
        emergencyDialMask: { type: "string", maxLength: 100, pattern: "^[0-9]+(;[0-9]+)*$" },
        notificationUri: { type: "string", maxLength: 256, pattern: "^sips?:[^\\s,]+(\\s*,\\s*sips?:[^\\s,]+)*$" },
        conferenceUri: { type: "string", maxLength: 256, pattern: "^sips?:[^\\s]+$" },
        conferenceMode: { enum: ["oneway", "twoway"] },
        locationRefreshInterval: { type: "integer", minimum: 1, maximum: 12 },
        locationPolicyTagId: { type: "string", maxLength: 256 },
      },
    },
    location: {
      type: "object",
      additionalProperties: false,
      properties: {
        lisUrl: { type: "string", pattern: "^https?://[^\\s]+$" },
        lisCa: { type: "string" },
        civic: {
          type: "object",
          required: ["country"],
          // RFC 5139's element names (the order of the civicAddress sequence) and xml:lang
          propertyNames: { enum: ["country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS", "POD", "POM", "RDSEC", "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR", "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE", "lang"] },
          properties: { country: { type: "string", pattern: "^[A-Za-z]{2}$" } },
          additionalProperties: { type: "string", minLength: 1, maxLength: 256 },
        },
        lldpInterface: { type: "string", pattern: "^[A-Za-z0-9._-]{1,15}$" },
      },
    },
    emergency: {
      type: "object",
      additionalProperties: false,
      properties: {
        requestUri: { enum: ["service-urn", "dial-string"] },
        routes: { type: "array", maxItems: 4, items: server },
        lync: { type: "boolean" },
        elinCallerId: { type: "boolean" },
        callbackMinutes: { type: "integer", minimum: 0, maximum: 240 },
        testCalls: { type: "boolean" },
        testAfterBootMinutes: { type: "integer", minimum: 0, maximum: 1440 },
      },
    },
    privateLine: {
      type: "object",
      additionalProperties: false,
      required: ["number"],
      properties: { number: dialNumber, ringPattern: { enum: ["standard", "double", "triple", "short"] } },
    },
    delegation: {
      type: "object",
      additionalProperties: false,
      required: ["enabled", "ringMode", "ringDelaySeconds", "delegates", "bosses"],
      properties: {
        enabled: { type: "boolean" },
        ringMode,
        ringDelaySeconds,
        forking: { enum: [...DELEGATION_FORKING] },
        delegates: {
          type: "array",
          maxItems: MAX_DELEGATES,
          items: { type: "object", additionalProperties: false, required: ["number"], properties: { number: dialNumber, name: personName } },
        },
        bosses: {
          type: "array",
          maxItems: MAX_BOSSES,
          items: {
            type: "object",
            additionalProperties: false,
            required: ["number", "ringMode", "ringDelaySeconds"],
            properties: { number: dialNumber, name: personName, ringMode, ringDelaySeconds },
          },
        },
      },
    },
    media: {
      type: "object",
      additionalProperties: false,
      properties: {
        codecs: { type: "array", minItems: 1, uniqueItems: true, items: { enum: ["G722", "PCMU", "PCMA"] } },
        srtp: { enum: ["off", "required"] },
        qualityCollector: { type: "string", pattern: "^sips?:[^\\s]+$" },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(CONFIG_BUNDLE_SCHEMA);

/** One schema error in words naming the file and the field (unknown field, missing field, or what is wrong). */
export function schemaErrorWords(file: string, e: ErrorObject): string {
  const where = e.instancePath || "/";
  if (e.keyword === "additionalProperties") return `${file}: ${where}: unknown field '${String(e.params.additionalProperty)}'`;
  if (e.keyword === "required") return `${file}: ${where}: missing '${String(e.params.missingProperty)}'`;
  return `${file}: ${where}: ${e.message ?? e.keyword}`;
}

/** Checks a parsed bundle; throws PHONE_ERR_BAD_CONFIG naming every bad field. Passwords never appear in errors. */
export function checkBundle(data: unknown, file = "config"): ConfigBundle {
  if (!validate(data)) throw new PhoneError(ErrorCodes.CONFIG_INVALID, (validate.errors ?? []).map((e) => schemaErrorWords(file, e)).join("; "), { file });
  const b = data as unknown as ConfigBundle;
  if (b.media?.srtp === "required") {
    // SDES keys travel in the SDP: over anything but TLS they are readable on the wire, and SRTP would protect nothing
    b.accounts.forEach((a, i) =>
      a.servers.forEach((sv, j) => {
        if (sv.transport !== "tls") throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: /accounts/${i}/servers/${j}: media.srtp "required" sends its keys in the SDP, which needs transport "tls" (this server says ${sv.transport ?? "nothing"})`, { file });
      }),
    );
  }
  checkPeople(b, file);
  return b;
}

/** What the schema cannot say about the private line and delegation: no number twice, none the user's own. */
function checkPeople(b: ConfigBundle, file: string): void {
  const bad = (where: string, why: string): never => {
    throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: ${where}: ${why}`, { file });
  };
  const own = new Set(b.accounts.map((a) => a.user));
  if (b.privateLine && own.has(b.privateLine.number)) bad("/privateLine/number", `${b.privateLine.number} is the account's own number; the private line is a second number`);
  if (!b.delegation) return;
  for (const list of ["delegates", "bosses"] as const) {
    const seen = new Set<string>();
    b.delegation[list].forEach((p, i) => {
      if (own.has(p.number)) bad(`/delegation/${list}/${i}/number`, `${p.number} is the account's own number (a user cannot be their own ${list === "delegates" ? "delegate" : "boss"})`);
      if (seen.has(p.number)) bad(`/delegation/${list}/${i}/number`, `${p.number} is listed twice`);
      seen.add(p.number);
    });
  }
}

/** Reads, parses and checks a bundle file; PEM paths in trustedCAs are read (relative to the file). */
export async function loadBundle(file: string): Promise<ConfigBundle> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: cannot read the config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: not JSON (${(e as Error).message})`, { file });
  }
  const b = checkBundle(data, file);
  if (b.trustedCAs) {
    const out: string[] = [];
    for (const ca of b.trustedCAs) {
      if (ca.includes("-----BEGIN")) out.push(ca);
      else {
        try {
          out.push(await fs.readFile(path.resolve(path.dirname(file), ca), "utf8"));
        } catch (e) {
          throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: /trustedCAs: cannot read '${ca}' (${(e as NodeJS.ErrnoException).code ?? ""})`, { file });
        }
      }
    }
    b.trustedCAs = out;
  }
  const lisCa = b.location?.lisCa;
  if (b.location && lisCa && !lisCa.includes("-----BEGIN")) {
    try {
      b.location.lisCa = await fs.readFile(path.resolve(path.dirname(file), lisCa), "utf8");
    } catch (e) {
      throw new PhoneError(ErrorCodes.CONFIG_INVALID, `${file}: /location/lisCa: cannot read '${lisCa}' (${(e as NodeJS.ErrnoException).code ?? ""})`, { file });
    }
  }
  return b;
}
