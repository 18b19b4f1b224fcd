// A real Kamailio on loopback as registrar and proxy with digest auth, for the lab and the tests: UDP, TCP and TLS
// (a fresh self-signed P-256 certificate for 127.0.0.1/localhost), users in db_text, locations in memory (so a
// restart loses them, like a real crash). Started under `setsid timeout`, stopped by process group, never by name.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { promises as fs, existsSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createSystemClock, type Clock } from "../base/clock.js";

const run = promisify(execFile);

export interface RegistrarUser {
  user: string;
  password: string;
}

export interface RegistrarOptions {
  users: RegistrarUser[];
  minExpires?: number;
  /** Seconds the process may live at most (a leaked one dies by itself). */
  lifetimeS?: number;
  clock?: Clock;
  /** Fixed ports (else free ones are picked). */
  ports?: { udp: number; tcp: number; tls: number };
  /**
   * Edits Kamailio makes to the SDP of the INVITEs it relays and of their replies (textops subst_body), as a middlebox
   * or a broken PBX would: e.g. point the media at a test relay, or spoil an SRTP key. Keep each edit the same length
   * (the Content-Length stays right); `find` is a POSIX regex, neither part may contain '#'.
   */
  sdpEdits?: { requests?: SdpEdit[]; replies?: SdpEdit[] };
  /**
   * Emergency routing, as an ESRP/PSAP-facing proxy would: an INVITE whose Request-URI is a `urn:service:sos` URN (any
   * case, its sub-services and `test.sos` included, RFC 5031) or whose user is one of `numbers` (default 911 and 112,
   * a leading + allowed) goes to this address, unauthenticated, body and headers untouched. TCP by default (an INVITE
   * with a PIDF-LO is too big for UDP's 1300 bytes).
   */
  emergencyRoute?: EmergencyRoute;
  /**
   * Private numbers (Lync's private line), as aliases of users (alias_db, db_text table `dbaliases`): a request to
   * sip:2001@domain reaches user 1001's registered contact with the To header still naming 2001 (the phone tells the
   * private line by it). A call to a private number never forks to the user's delegates. `{ "2001": "1001" }`.
   */
  aliases?: Record<string, string>;
  /**
   * Boss -> delegates: an INVITE to the boss's own number (not to the boss's private number, not from one of the
   * delegates themselves) also rings each registered delegate at once (parallel forking: append_branch per delegate,
   * lookup_branches). When one branch answers, tm CANCELs the others with `Reason: SIP;cause=200;text="Call completed
   * elsewhere"`. `{ "1001": ["1002"] }`.
   */
  delegations?: Record<string, string[]>;
  /**
   * RFC 3325 for authenticated callers: user -> the numbers it may call as. An INVITE from an authenticated user that
   * carries `P-Preferred-Identity: <sip:N@domain>` with N allowed for that user leaves with `P-Asserted-Identity:
   * <sip:N@domain>`; otherwise P-Preferred-Identity (and any P-Asserted-Identity the user put in) is removed and the
   * user's own identity is asserted. From is left as the phone sent it. `{ "1002": ["1001"] }`.
   */
  assertedIdentity?: Record<string, string[]>;
}

export interface EmergencyRoute {
  host: string;
  port: number;
  transport?: "udp" | "tcp";
  numbers?: string[];
  /** Challenge emergency INVITEs from the lab's domain like any other (a PBX that does): digest over the urn Request-URI. */
  authenticate?: boolean;
  /**
   * Send the call to this user at the PSAP's address (Request-URI sip:USER@host:port), as an ESRP that maps the
   * service URN to a PSAP's URI; for a PSAP that answers only its own address (baresip). Default: the Request-URI is
   * left as the phone sent it.
   */
  psapUser?: string;
}

export interface SdpEdit {
  find: string;
  replace: string;
}

const substBody = (edits: SdpEdit[]): string => edits.map((e) => `subst_body("#${e.find}#${e.replace}#");`).join(" ");

/** A user name or number as it may appear in the generated config (no quoting games). */
function userName(u: string, what: string): string {
  if (!/^[A-Za-z0-9._+-]+$/.test(u)) throw new Error(`${what} '${u}' is not a plain user name or number`);
  return u;
}

/** Regex alternatives matching exactly these user names (dots and plus signs escaped). */
const alternatives = (users: string[]): string => users.map((u) => u.replace(/[.+]/g, (c) => `[${c}]`)).join("|");

/** What the PBX does beyond registrar and proxy (RegistrarOptions' fields of the same names; Registrar.reconfigure). */
export interface PbxFeatures {
  aliases?: Record<string, string>;
  delegations?: Record<string, string[]>;
  assertedIdentity?: Record<string, string[]>;
}

/** The route that forks a call to a boss to the boss's registered delegates (RegistrarOptions.delegations). */
function delegatesBlock(delegations: Record<string, string[]>): string {
  const bosses = Object.entries(delegations).filter(([, ds]) => ds.length);
  const cases = bosses
    .map(([boss, ds]) => {
      const b = userName(boss, "boss");
      const lines = ds
        .map((d) => userName(d, "delegate"))
        .filter((d) => d !== b)
        .map((d) => `    if ($fU != "${d}" && $var(authuser) != "${d}" && registered("location", "sip:${d}@$rd")) { append_branch("sip:${d}@$rd"); $var(forked) = 1; }`)
        .join("\n");
      return `  if ($rU == "${b}") {\n${lines}\n  }`;
    })
    .join("\n");
  return `
# a call to a boss rings the boss's registered delegates at once (parallel forking); the first to answer wins and
# tm CANCELs the other branches (local_cancel_reason: Reason: SIP;cause=200;text="Call completed elsewhere")
route[DELEGATES] {
  # an INVITE with Replaces (RFC 3891: a transfer completing; baresip 1.0 puts it in the To URI), to a phone's own
  # contact (a Request-URI with a port: one device, not the boss's address of record) or to a GRUU (RFC 5627: one
  # device too) is never forked
  if (!is_method("INVITE") || $var(private) == 1 || is_present_hf("Replaces") || $tu =~ "Replaces=" || $ru =~ "@[^;?]+:[0-9]+" || $ru =~ ";gr([=;?]|$)") { return; }
${cases}
}
`;
}

/** RFC 3325: the identity an authenticated caller may assert (RegistrarOptions.assertedIdentity). */
function identityBlock(allowed: Record<string, string[]>): string {
  const rules = Object.entries(allowed)
    .filter(([, ns]) => ns.length)
    .map(([user, ns]) => `  if ($var(authuser) == "${userName(user, "user")}" && $var(ppi) =~ "^(${alternatives(ns.map((n) => userName(n, "number")))})$") { $var(asserted) = $var(ppi); }`)
    .join("\n");
  return `
# RFC 3325 trust domain: what a user prefers (P-Preferred-Identity) is asserted only where allowed; a user never
# asserts anything itself
route[IDENTITY] {
  if (!is_method("INVITE") || $var(authuser) == "") { return; }
  $var(ppi) = "";
  if (is_present_hf("P-Preferred-Identity")) { $var(ppi) = $(hdr(P-Preferred-Identity){nameaddr.uri}{uri.user}); }
  $var(asserted) = $var(authuser);
${rules}
  remove_hf("P-Preferred-Identity");
  remove_hf("P-Asserted-Identity");
  append_hf("P-Asserted-Identity: <sip:$var(asserted)@$fd>\\r\\n");
  xlog("L_INFO", "IDENTITY $var(authuser) preferred '$var(ppi)', asserted $var(asserted) (Call-ID $ci)\\n");
}
`;
}

export interface Registrar {
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly tlsPort: number;
  /** The PEM file of the TLS certificate (trust it as a CA). */
  readonly caFile: string;
  /** Kamailio's db_text subscriber table: whoever rewrites it (atomically) changes the users (read when changed). */
  readonly subscriberFile: string;
  readonly runDir: string;
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts again on the same ports (registrations are gone). */
  restart(): Promise<void>;
  /**
   * Stops and starts again on the same ports with these private numbers, forks and asserted identities instead of the
   * ones it had (Kamailio reads its config only when it starts): registrations are gone, as with restart(). E.g. the
   * lab's, from the provisioning service's store once IT's commands ran.
   */
  reconfigure(features: PbxFeatures): Promise<void>;
  log(): Promise<string>;
}

const MODULE_DIRS = ["/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules", "/usr/lib/arm-linux-gnueabihf/kamailio/modules", "/usr/lib/kamailio/modules"];

/** A port free on both UDP and TCP (and the next one, for TLS neighbours), on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket("udp4");
      u.once("error", () => resolve(false));
      u.bind(port, "127.0.0.1", () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error("no free loopback port found");
}

/** The Kamailio route that sends emergency INVITEs to the PSAP (see RegistrarOptions.emergencyRoute). */
function emergencyRouteBlock(e: EmergencyRoute): string {
  const numbers = (e.numbers ?? ["911", "112"]).map((n) => n.replace(/[^0-9]/g, "")).filter(Boolean);
  const transport = e.transport ?? "tcp";
  return `
route[EMERGENCY] {
  if (!is_method("INVITE") || has_totag()) { return; }
  if ($ru =~ "^urn:service:(test[.])?sos([.][a-z0-9-]+)*$" || $rU =~ "^[+]?(${numbers.join("|")})$") {
    xlog("L_NOTICE", "EMERGENCY $ru from $fu (Call-ID $ci) to the PSAP at ${e.host}:${e.port}/${transport}\n");
    record_route();
    $du = "sip:${e.host}:${e.port};transport=${transport}";${e.psapUser ? `
    $ru = "sip:${e.psapUser.replace(/[^A-Za-z0-9._+-]/g, "")}@${e.host}:${e.port};transport=${transport}";` : ""}
    if (!t_relay()) { sl_reply_error(); }
    exit;
  }
}
`;
}

function config(o: { udp: number; tcp: number; tls: number; dir: string; mpath: string; minExpires: number; sdpEdits?: RegistrarOptions["sdpEdits"]; emergencyRoute?: EmergencyRoute } & PbxFeatures): string {
  const req = o.sdpEdits?.requests ?? [];
  const rpl = o.sdpEdits?.replies ?? [];
  const em = o.emergencyRoute;
  const aliases = Object.keys(o.aliases ?? {}).length > 0;
  const delegations = Object.values(o.delegations ?? {}).some((d) => d.length);
  const identity = o.assertedIdentity !== undefined;
  return `#!KAMAILIO
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
listen=udp:127.0.0.1:${o.udp}
listen=tcp:127.0.0.1:${o.tcp}
listen=tls:127.0.0.1:${o.tls}
alias="localhost:${o.udp}"
enable_tls=yes
tcp_connection_lifetime=3605
# a message over TCP must fit the read buffer (default 4 KB): an emergency INVITE with SDP and PIDF-LO can be bigger
tcp_rd_buf_size=65536
mpath="${o.mpath}"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "tls.so"${aliases ? `\nloadmodule "alias_db.so"\nmodparam("alias_db", "db_url", "text://${o.dir}/db")` : ""}
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", ${o.minExpires})
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires_mode", 1)
# RFC 5627: a REGISTER with +sip.instance and Supported: gruu gets a pub-gruu and a temp-gruu (the default, said
# here because the emergency tests rely on it: ED-63, a globally routable Contact); route[GRUU] routes them back
modparam("registrar", "gruu_enabled", 1)
modparam("auth_db", "db_url", "text://${o.dir}/db")
# non-caching: the subscriber file is read again whenever it changed (the provisioning service writes it)
modparam("db_text", "db_mode", 1)
modparam("auth_db", "calculate_ha1", yes)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
modparam("auth", "qop", "auth")
modparam("tls", "config", "${o.dir}/tls.cfg")
modparam("rr", "enable_full_lr", 1)
modparam("tm", "fr_inv_timer", 60000)
# CANCELs tm sends to the other branches once one answered say why (RFC 3326): Reason: SIP;cause=200
modparam("tm", "local_cancel_reason", 1)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (!sanity_check("1511", "7")) { exit; }
  force_rport();
  // $var is per process and outlives the message: reset what the routes below read
  $var(authuser) = ""; $var(private) = 0; $var(forked) = 0;
  if (is_method("OPTIONS") && $rU==$null) { sl_send_reply("200", "OK"); exit; }
  if (has_totag()) {
    // a phone's Contact may be its GRUU: the remote target of the dialog, reached through route[GRUU]
    if (loose_route()) { route(GRUU); t_relay(); exit; }
    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
    route(GRUU);
    // phones send every request through this proxy (outbound proxy): an in-dialog request with no route set goes
    // to the device its R-URI names
    if (uri!=myself) { t_relay(); exit; }
    if (is_method("ACK")) { exit; }
    if ($rd=="127.0.0.1" && is_method("NOTIFY|SUBSCRIBE")) { sl_send_reply("481", "No subscription"); exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  t_check_trans();${em && !em.authenticate ? "\n  // emergency calls need no registration and no credentials (RFC 6881 SP-33, ED-4)\n  route(EMERGENCY);" : ""}
  if (is_method("REGISTER")) {
    if (!www_authorize("$fd", "subscriber")) { www_challenge("$fd", "1"); exit; }
    // one device per extension (flag 0x04): a phone that re-registers from a new port replaces its stale contact,
    // so calls are not forked to a dead address (whose branch would hold a redirect back until it times out)
    if (!save("location", "0x04")) { sl_reply_error(); }
    exit;
  }
  if (is_method("INVITE|SUBSCRIBE|MESSAGE|REFER") && ($fd=="127.0.0.1" || $fd=="localhost")) {
    if (!proxy_authorize("$fd", "subscriber")) { proxy_challenge("$fd", "1"); exit; }
    // a user speaks as itself: phones trust the From of their own domain (a boss's phone ringing its delegate, a
    // delegation notice), so no one may put another user there (calling as a boss goes by P-Preferred-Identity)
    if ($au != $fU) { sl_send_reply("403", "From is not the authenticated user"); exit; }
    $var(authuser) = $au;
    consume_credentials();
  }${em?.authenticate ? "\n  route(EMERGENCY);" : ""}${identity ? "\n  route(IDENTITY);" : ""}
  if (is_method("INVITE|SUBSCRIBE|REFER")) { record_route(); }
  // the domain is the loopback address whatever port the R-URI names (a URI without one means 5060, not ours)
  if ($rd=="127.0.0.1" || $rd=="localhost") {${aliases ? `
    // a private number is an alias of its user (the To header keeps the number dialled)
    if (alias_db_lookup("dbaliases")) { $var(private) = 1; xlog("L_INFO", "PRIVATE LINE $tu -> $ru (Call-ID $ci)\\n"); }` : ""}${delegations ? "\n    route(DELEGATES);" : ""}
    // a number is looked up; a device's own contact (baresip's "1003-0x..." in a Refer-To/Replaces) goes as it is${delegations ? `
    if ($var(forked) == 1) {
      // the boss and the delegates: each branch's address of record becomes its registered contacts
      if (!lookup_branches("location") && $rU =~ "^[0-9]+$") { sl_send_reply("404", "Not Found"); exit; }
      xlog("L_INFO", "DELEGATION $tu forked (Call-ID $ci)\\n");
    } else` : ""}
    if (!lookup("location") && $rU =~ "^[0-9]+$") { sl_send_reply("404", "Not Found"); exit; }
  }
  // a PBX follows a phone's redirect (302, call forward): the Contact's user is looked up and called instead
  if (is_method("INVITE")) { t_on_failure("REDIRECT");${rpl.length ? ' t_on_reply("SDP_EDITS");' : ""} }${req.length ? `\n  if (is_method("INVITE") && has_body("application/sdp")) { ${substBody(req)} }` : ""}
  if (!t_relay()) { sl_reply_error(); }
}

${em ? emergencyRouteBlock(em) : ""}${delegations ? delegatesBlock(o.delegations ?? {}) : ""}${identity ? identityBlock(o.assertedIdentity ?? {}) : ""}
${rpl.length ? `onreply_route[SDP_EDITS] {\n  if (has_body("application/sdp")) { ${substBody(rpl)} }\n}\n` : ""}
# RFC 5627: a request to a GRUU this registrar gave (its domain, a gr parameter; no port, so not "myself" here)
# goes to the registered contact of that one device: lookup() reads gr (the instance of a pub-gruu, the binding of a
# temp-gruu). A GRUU with no binding now: 480. Initial requests get the same from the lookup in request_route.
route[GRUU] {
  if (($rd=="127.0.0.1" || $rd=="localhost") && $ru =~ ";gr([=;?]|$)") {
    if (!lookup("location")) {
      if (!is_method("ACK")) { sl_send_reply("480", "Temporarily Unavailable"); }
      exit;
    }
  }
}

failure_route[REDIRECT] {
  if (t_is_canceled()) { exit; }
  if (t_check_status("30[12]")) {
    $ru = $(T_rpl($ct){nameaddr.uri});
    if (($rd=="127.0.0.1" || $rd=="localhost") && lookup("location")) { t_relay(); }
  }
}
`;
}

/** Starts Kamailio with `users`; resolves once it answers OPTIONS on UDP and accepts TCP. */
export async function startRegistrar(opts: RegistrarOptions): Promise<Registrar> {
  const clock = opts.clock ?? createSystemClock();
  const mpath = MODULE_DIRS.find((d) => existsSync(path.join(d, "tm.so")));
  if (!mpath) throw new Error("Kamailio's modules are not installed (apt install kamailio kamailio-tls-modules)");
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "kamailio-"));
  await fs.mkdir(path.join(dir, "db"));
  await fs.mkdir(path.join(dir, "run"));
  // UDP and TCP share one port number, as on a real PBX (5060): a request too large for UDP goes to the same port over
  // TCP (RFC 3261 §18.1.1)
  const shared = await freePort();
  const ports = opts.ports ?? { udp: shared, tcp: shared, tls: await freePort() };
  const rows = opts.users.map((u, i) => `${i + 1}:${u.user}:127.0.0.1:${u.password.replace(/[:\\\n]/g, (c) => "\\" + c)}::`).join("\n");
  await fs.writeFile(path.join(dir, "db", "subscriber"), `id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null)\n${rows}\n`);
  await fs.writeFile(path.join(dir, "db", "version"), "table_name(string) table_version(int)\nsubscriber:7\ndbaliases:1\n");
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
  await fs.writeFile(path.join(dir, "tls.cfg"), `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = ${key}\ncertificate = ${cert}\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n`);
  const cfg = path.join(dir, "kamailio.cfg");
  /** The private numbers' table (db_text dbaliases) and Kamailio's config for `f` (a bad user name throws). */
  const render = (f: PbxFeatures): { aliases: string; cfg: string } => {
    const rows = Object.entries(f.aliases ?? {}).map(([alias, user], i) => `${i + 1}:${userName(alias, "private number")}:127.0.0.1:${userName(user, "user")}:127.0.0.1\n`);
    const text = config({ ...ports, dir, mpath, minExpires: opts.minExpires ?? 60, ...(opts.sdpEdits ? { sdpEdits: opts.sdpEdits } : {}), ...(opts.emergencyRoute ? { emergencyRoute: opts.emergencyRoute } : {}), ...(f.aliases ? { aliases: f.aliases } : {}), ...(f.delegations ? { delegations: f.delegations } : {}), ...(f.assertedIdentity ? { assertedIdentity: f.assertedIdentity } : {}) });
    return { aliases: `id(int,auto) alias_username(string) alias_domain(string) username(string) domain(string)\n${rows.join("")}`, cfg: text };
  };
  const write = async (r: { aliases: string; cfg: string }): Promise<void> => {
    await fs.writeFile(path.join(dir, "db", "dbaliases"), r.aliases);
    await fs.writeFile(cfg, r.cfg);
  };
  await write(render(opts));
  const logFile = path.join(dir, "kamailio.log");

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    await fs.rm(path.join(dir, "run", "kamailio.pid"), { force: true }); // a killed one leaves it behind
    const out = await fs.open(logFile, "a");
    child = spawn("setsid", ["timeout", String(opts.lifetimeS ?? 3600), "kamailio", "-f", cfg, "-DD", "-E", "-Y", path.join(dir, "run"), "-P", path.join(dir, "run", "kamailio.pid"), "-m", "64", "-M", "8"], { stdio: ["ignore", out.fd, out.fd], detached: false });
    await out.close();
    const exited = new Promise<never>((_r, reject) => child?.once("exit", (code) => reject(new Error(`kamailio exited (${code}) on ports ${ports.udp}/${ports.tcp}/${ports.tls}: ${tail(logFile)}`))));
    exited.catch(() => undefined);
    await Promise.race([waitReady(ports, clock), exited]);
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c?.pid || c.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    try {
      process.kill(-c.pid, sig); // the whole session: timeout, kamailio and its children
    } catch {
      return;
    }
    await Promise.race([gone, clock.sleep(3000)]);
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {
      // gone
    }
    // the children of a killed kamailio may hold the ports a moment longer
    for (let i = 0; i < 50 && !(await portsFree(ports)); i++) await clock.sleep(100);
  };
  await launch();
  const killAll = (): void => {
    if (child?.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  };
  process.once("exit", killAll);
  return {
    udpPort: ports.udp,
    tcpPort: ports.tcp,
    tlsPort: ports.tls,
    caFile: cert,
    subscriberFile: path.join(dir, "db", "subscriber"),
    runDir: dir,
    stop: async () => {
      await signal("SIGTERM");
      process.off("exit", killAll);
      if (!process.env.KEEP_LAB) await fs.rm(dir, { recursive: true, force: true });
    },
    kill: () => signal("SIGKILL"),
    restart: launch,
    reconfigure: async (f) => {
      const r = render(f); // before anything stops: a bad name leaves the running one as it was
      await signal("SIGTERM");
      await write(r);
      await launch();
    },
    log: () => fs.readFile(logFile, "utf8").catch(() => ""),
  };
}

/** The last error lines of a log file (for a start that failed). */
function tail(file: string): string {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const lines = text.split("\n").filter(Boolean);
  return lines.filter((l) => /ERROR|CRITICAL/.test(l)).slice(-5).join(" | ") || lines.slice(-5).join(" | ") || "(no log)";
}

async function portsFree(p: { udp: number; tcp: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(p.tcp, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function waitReady(p: { udp: number; tcp: number }, clock: Clock): Promise<void> {
  const deadline = clock.now() + 15000;
  while (clock.now() < deadline) {
    if ((await optionsAnswered(p.udp, clock)) && (await tcpOpen(p.tcp))) return;
    await clock.sleep(100);
  }
  throw new Error(`kamailio did not come up on udp ${p.udp} / tcp ${p.tcp} within 15 s`);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function optionsAnswered(port: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const u = dgram.createSocket("udp4");
    const done = (ok: boolean): void => {
      t.cancel();
      u.close();
      resolve(ok);
    };
    const t = clock.setTimeout(() => done(false), 300);
    u.on("message", (m) => done(m.toString().startsWith("SIP/2.0")));
    u.on("error", () => done(false));
    u.bind(0, "127.0.0.1", () => {
      const lp = u.address().port;
      const msg = `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bK${Math.floor(Math.random() * 1e9)};rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe-${lp}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      u.send(msg, port, "127.0.0.1");
    });
  });
}
