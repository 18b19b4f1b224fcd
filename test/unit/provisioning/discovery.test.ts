// Provisioning discovery: override, then DHCP leases (dhclient, dhcpcd raw and key=value, NetworkManager) for options
// 43/160/66 (+120, 15), then DNS SRV, else manual; https only; bad lease data becomes a note, never an exception.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { isPhoneError } from "../../../src/base/errors.js";
import { discover, provisioningUrl, type SrvResolver } from "../../../src/provisioning/discovery.js";
import { decodeSipServers, decodeVendorOptions, parseDhcpPacket, readLeaseFile } from "../../../src/provisioning/dhcp-leases.js";

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const fx = (name: string): string => path.join(FIX, name);
const NO_RESOLV = fx("no-such-resolv.conf");
const CA_FP = "3467bc1694948d5760cd8c37cfdcd00ea0ad95aec9ab188cacf67fb61ba1c396";
const NM_ETH0 = fx("nm/internal-3f0a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b-eth0.lease");

type SrvRecord = { name: string; port: number; priority: number; weight: number };

/** A resolver that answers from a table and records what it was asked. */
function fakeResolver(table: Record<string, SrvRecord[] | Error>): SrvResolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async resolveSrv(name: string) {
      asked.push(name);
      const a = table[name];
      if (a === undefined) throw Object.assign(new Error(`queryp ENOTFOUND ${name}`), { code: "ENOTFOUND" });
      if (a instanceof Error) throw a;
      return a;
    },
  };
}
const noDns = (): SrvResolver & { asked: string[] } => fakeResolver({});

function tlv(code: number, value: Buffer | string): Buffer {
  const v = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([Buffer.from([code, v.length]), v]);
}

/** A BOOTREPLY with the given options field (after the cookie), and optional 'sname' / 'file' contents. */
function packet(options: Buffer, fields: { sname?: Buffer; file?: Buffer } = {}): Buffer {
  const hdr = Buffer.alloc(236);
  hdr[0] = 2;
  hdr[1] = 1;
  hdr[2] = 6;
  fields.sname?.copy(hdr, 44);
  fields.file?.copy(hdr, 108);
  return Buffer.concat([hdr, Buffer.from([0x63, 0x82, 0x53, 0x63]), options]);
}

describe("provisioning discovery", () => {
  let tmp: string;
  beforeEach(async () => (tmp = await fs.mkdtemp(path.join(os.tmpdir(), "discovery-"))));
  afterEach(async () => fs.rm(tmp, { recursive: true, force: true }));

  /** The hand-written hex fixture of dhcpcd's raw lease, as the binary file dhcpcd writes (<if>.lease). */
  async function dhcpcdLease(name = "eth0.lease"): Promise<string> {
    const hex = (await fs.readFile(fx("dhcpcd-eth0.lease.hex"), "utf8")).replace(/^#.*$/gm, "").replace(/\s+/g, "");
    const file = path.join(tmp, name);
    await fs.writeFile(file, Buffer.from(hex, "hex"));
    return file;
  }

  describe("order of precedence", () => {
    it("1. the override from the phone's settings wins over everything DHCP says", async () => {
      const r = await discover({ override: "https://prov.corp.example/", leaseFiles: [fx("dhclient.eth0.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.deepEqual(r, { url: "https://prov.corp.example/", source: "override", notes: [] });
    });

    it("an http override is refused with a note, and discovery carries on with DHCP", async () => {
      const r = await discover({ override: "http://prov.corp.example/", leaseFiles: [fx("dhclient.eth0.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.source, "dhcp-43");
      assert.match(r.notes[0], /^override http:\/\/prov\.corp\.example\/ refused: http is refused: the extension and PIN must never travel in the clear/);
    });

    it("2. option 43 (URL + CA fingerprint) wins over 160 and 66 in the same lease, with 120 and 15 for information", async () => {
      const dns = noDns();
      const r = await discover({ leaseFiles: [fx("dhclient.eth0.leases")], resolver: dns, resolvConf: NO_RESOLV });
      assert.deepEqual(r, {
        url: "https://prov.example.com/dp/",
        source: "dhcp-43",
        caFingerprint: CA_FP,
        sipServers: ["pbx1.example.com", "pbx2.example.com"], // RFC 3361 encoding 0, the second name compressed
        domain: "example.com",
        notes: [],
      });
      assert.deepEqual(dns.asked, [], "DNS is not asked once DHCP has answered");
    });

    it("then option 160 before 66; option 120 in the IPv4 encoding", async () => {
      const r = await discover({ leaseFiles: [fx("dhclient-160-66.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.deepEqual(r, { url: "https://prov.example.com/160/", source: "dhcp-160", sipServers: ["192.0.2.5", "192.0.2.6"], notes: [] });
    });

    it("then option 66: a host name becomes https://<name>/, an https URL is taken as it is", async () => {
      const host = await discover({ leaseFiles: [fx("dhclient-66-host.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.deepEqual(host, { url: "https://pbx.example.com/", source: "dhcp-66", domain: "example.com", notes: [] });
      const url = await discover({ leaseFiles: [fx("dhclient-66-url.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(url.url, "https://pbx.example.com:8443/prov/");
      assert.equal(url.source, "dhcp-66");
    });

    it("3. DNS SRV _deskphone-prov._tcp in the given domain, the lease's domain, then resolv.conf's search list", async () => {
      const dns = fakeResolver({
        "_deskphone-prov._tcp.example.com": [
          { name: "prov2.example.com", port: 8443, priority: 10, weight: 50 },
          { name: "prov1.example.com.", port: 443, priority: 0, weight: 5 },
          { name: "prov3.example.com", port: 9443, priority: 0, weight: 1 },
        ],
      });
      const r = await discover({ domain: "given.example", leaseFiles: [fx("dhclient-http.leases")], resolver: dns, resolvConf: fx("resolv.conf") });
      assert.equal(r.url, "https://prov1.example.com/");
      assert.equal(r.source, "dns-srv");
      assert.equal(r.domain, "example.com");
      assert.deepEqual(dns.asked, ["_deskphone-prov._tcp.given.example", "_deskphone-prov._tcp.corp.example.com", "_deskphone-prov._tcp.example.com"]);
      assert.ok(r.notes.some((n) => /_deskphone-prov\._tcp\.corp\.example\.com: no such record/.test(n)));
    });

    it("the SRV domain comes from the lease's domain-name option when there is one", async () => {
      const lease = path.join(tmp, "dhclient.leases");
      await fs.writeFile(lease, 'lease {\n  interface "eth0";\n  option domain-name "lease.example";\n}\n');
      const dns = fakeResolver({ "_deskphone-prov._tcp.lease.example": [{ name: "p.lease.example", port: 8443, priority: 1, weight: 1 }] });
      const r = await discover({ leaseFiles: [lease], resolver: dns, resolvConf: NO_RESOLV });
      assert.deepEqual(r, { url: "https://p.lease.example:8443/", source: "dns-srv", domain: "lease.example", notes: [`DHCP: no usable option 43, 160 or 66 in dhclient lease ${lease}`] });
    });

    it("4. nothing anywhere: manual entry, and the notes say why each source gave nothing", async () => {
      const r = await discover({ leaseFiles: [], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.url, null);
      assert.equal(r.source, "manual");
      assert.deepEqual(r.notes, [
        "DHCP: no lease files found",
        "DNS SRV: no domain to look in (none given, none in the lease, no search domain)",
        "no provisioning service found: its address must be entered by hand",
      ]);
    });

    it("an SRV target of '.' (service decidedly not available) and resolver failures are notes", async () => {
      const dns = fakeResolver({
        "_deskphone-prov._tcp.a.example": [{ name: ".", port: 0, priority: 0, weight: 0 }],
        "_deskphone-prov._tcp.b.example": Object.assign(new Error("timeout"), { code: "ETIMEOUT" }),
      });
      const r = await discover({ leaseFiles: [], resolver: dns, resolvConf: NO_RESOLV, domain: "a.example" });
      assert.equal(r.source, "manual");
      assert.ok(r.notes.includes('DNS SRV _deskphone-prov._tcp.a.example: the domain says the service is not available there (target ".")'));
      const r2 = await discover({ leaseFiles: [], resolver: dns, resolvConf: NO_RESOLV, domain: "b.example" });
      assert.ok(r2.notes.includes("DNS SRV _deskphone-prov._tcp.b.example: ETIMEOUT"));
    });
  });

  describe("https only", () => {
    it("an http URL in option 160 is refused with a note: the PIN must never travel in the clear", async () => {
      const r = await discover({ leaseFiles: [fx("dhclient-http.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.source, "manual");
      assert.match(r.notes[0], new RegExp(`^dhclient lease ${fx("dhclient-http.leases").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: option 160 http://prov\\.example\\.com/ refused: http is refused`));
    });

    it("provisioningUrl: bare hosts only where allowed, other schemes and credentials refused", () => {
      assert.deepEqual(provisioningUrl("pbx.example.com:8443/p", { bareHost: true }), { ok: true, value: "https://pbx.example.com:8443/p" });
      assert.deepEqual(provisioningUrl("192.0.2.7", { bareHost: true }), { ok: true, value: "https://192.0.2.7/" });
      assert.deepEqual(provisioningUrl("HTTPS://Prov.Example.com", { bareHost: false }), { ok: true, value: "https://prov.example.com/" });
      assert.equal(provisioningUrl("pbx.example.com", { bareHost: false }).ok, false);
      assert.match((provisioningUrl("tftp://pbx.example.com/", { bareHost: true }) as { reason: string }).reason, /only https URLs are accepted \(this one is tftp:\)/);
      assert.match((provisioningUrl("https://u:p@prov.example.com/", { bareHost: false }) as { reason: string }).reason, /user name or password/);
      assert.equal(provisioningUrl("pbx example", { bareHost: true }).ok, false);
      assert.equal(provisioningUrl("MS-UC-Client", { bareHost: false }).ok, false);
    });
  });

  describe("dhclient leases", () => {
    it("the last lease block is the newest and wins; lease6 blocks and default-duid are skipped", async () => {
      const l = await readLeaseFile(fx("dhclient.eth0.leases"));
      assert.ok(l);
      assert.equal(l.format, "dhclient");
      assert.equal(l.interface, "eth0");
      assert.equal(l.options[160].toString(), "https://prov.example.com/160/"); // not the older block's old-prov
      assert.equal(l.options[15].toString(), "example.com");
      assert.equal(l.options[66].toString(), "pbx.example.com");
      assert.deepEqual(l.problems, []);
    });

    it("picks the last block of the interface asked for", async () => {
      const f = path.join(tmp, "dhclient.leases");
      await fs.writeFile(f, [
        'lease { interface "eth0"; option unknown-160 "https://a.example/"; }',
        'lease { interface "wlan0"; option unknown-160 "https://b.example/"; }',
      ].join("\n"));
      assert.equal((await readLeaseFile(f))?.interface, "wlan0");
      assert.equal((await readLeaseFile(f, { interface: "eth0" }))?.options[160].toString(), "https://a.example/");
      assert.equal(await readLeaseFile(f, { interface: "eth9" }), null);
    });

    it("reads ISC escapes in strings and one-digit hex bytes", async () => {
      const f = path.join(tmp, "dhclient.leases");
      await fs.writeFile(f, 'lease {\n  option unknown-200 "a\\"b\\\\c\\001";\n  option unknown-201 1:a:ff;\n  option unknown-202 5;\n}\n');
      const l = await readLeaseFile(f);
      assert.deepEqual([...(l?.options[200] ?? [])], [...Buffer.from('a"b\\c\x01', "latin1")]);
      assert.deepEqual([...(l?.options[201] ?? [])], [1, 10, 255]);
      assert.deepEqual([...(l?.options[202] ?? [])], [5]);
    });

    it("reads 120 and 160 under the names the image's dhclient.conf defines for them", async () => {
      const f = path.join(tmp, "dhclient.leases");
      await fs.writeFile(f, 'lease {\n  option deskphone-sip-servers 1:c0:0:2:5;\n  option deskphone-prov-url "https://prov.example.com/named/";\n}\n');
      const r = await discover({ leaseFiles: [f], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.deepEqual(r, { url: "https://prov.example.com/named/", source: "dhcp-160", sipServers: ["192.0.2.5"], notes: [] });
    });

    it("a bad option 43 length is ignored with the reason, and the next source (160) is used", async () => {
      const r = await discover({ leaseFiles: [fx("dhclient-bad43.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.source, "dhcp-160");
      assert.deepEqual(r.notes, [`dhclient lease ${fx("dhclient-bad43.leases")}: option 43 sub-option 1 length 40 overruns the option (30 bytes); option 43 ignored`]);
    });

    it("a file cut short mid-block: the unclosed block is dropped with a note, the previous block is used", async () => {
      const r = await discover({ leaseFiles: [fx("dhclient-truncated.leases")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.url, "https://prov.example.com/kept/");
      assert.ok(r.notes.some((n) => n.includes("a quoted string is not closed")));
      assert.ok(r.notes.some((n) => n.includes("the last lease block is not closed (file cut short?); it was ignored")));
    });
  });

  describe("dhcpcd leases", () => {
    it("reads the raw BOOTP packet dhcpcd keeps: options 43 (fingerprint as hex, split over two instances), 66, 120, 15", async () => {
      const file = await dhcpcdLease();
      const l = await readLeaseFile(file);
      assert.equal(l?.format, "dhcpcd-raw");
      assert.equal(l?.interface, "eth0");
      const r = await discover({ leaseFiles: [file], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.deepEqual(r, { url: "https://prov.example.com/dhcpcd/", source: "dhcp-43", caFingerprint: CA_FP, sipServers: ["192.0.2.5", "192.0.2.6"], domain: "example.com", notes: [] });
    });

    it("follows option overload (52) into 'file' then 'sname', concatenating an option split across them", () => {
      const url = "https://prov.example.com/overloaded/";
      const p = packet(Buffer.concat([tlv(53, Buffer.from([5])), tlv(52, Buffer.from([3])), tlv(160, url.slice(0, 10)), Buffer.from([255])]), {
        file: Buffer.concat([tlv(160, url.slice(10)), Buffer.from([255])]),
        sname: Buffer.concat([tlv(66, "pbx.example.com"), Buffer.from([255])]),
      });
      const { options, problems } = parseDhcpPacket(p);
      assert.equal(options[160].toString(), url);
      assert.equal(options[66].toString(), "pbx.example.com");
      assert.deepEqual(problems, []);
    });

    it("an option running past the packet is a problem; the options before it are kept", () => {
      const p = packet(Buffer.concat([tlv(66, "pbx.example.com"), Buffer.from([160, 50, 0x68, 0x74])]));
      const { options, problems } = parseDhcpPacket(p);
      assert.equal(options[66].toString(), "pbx.example.com");
      assert.equal(options[160], undefined);
      assert.deepEqual(problems, ["options field: option 160 length 50 overruns the field (2 bytes left); the rest of the field was ignored"]);
    });

    it("a truncated packet or binary garbage: readLeaseFile throws a PhoneError, discover() makes it a note", async () => {
      const full = await fs.readFile(await dhcpcdLease());
      const cut = path.join(tmp, "eth1.lease");
      await fs.writeFile(cut, full.subarray(0, 200));
      const noise = path.join(tmp, "eth2.lease");
      await fs.writeFile(noise, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13, 0x37]));
      await assert.rejects(readLeaseFile(cut), (e: unknown) => isPhoneError(e, "PHONE_ERR_CONFIG_INVALID") && /truncated DHCP packet: 200 bytes/.test((e as Error).message));
      const r = await discover({ leaseFiles: [cut, noise, fx("garbage.lease")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.source, "manual");
      assert.ok(r.notes.includes(`lease file ${cut}: truncated DHCP packet: 200 bytes, a BOOTP header and magic cookie take 240`));
      assert.ok(r.notes.some((n) => n.startsWith(`lease file ${noise}: not a lease file (binary data`)));
      assert.ok(r.notes.some((n) => n.startsWith(`lease file ${fx("garbage.lease")}: not a lease file (no \`lease {\` block`)));
    });

    it("reads the key=value form (dumplease): hex option 43, sip_server names, domain", async () => {
      const r = await discover({ leaseFiles: [fx("dhcpcd-eth0.lease.env")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.deepEqual(r, { url: "https://prov.example.com/dp/", source: "dhcp-43", caFingerprint: CA_FP, sipServers: ["pbx1.example.com", "pbx2.example.com"], domain: "example.com", notes: [] });
      assert.equal((await readLeaseFile(fx("dhcpcd-eth0.lease.env")))?.interface, "eth0");
    });
  });

  describe("NetworkManager leases", () => {
    it("reads the internal client's key=value lease (VENDOR_SPECIFIC, SIP, DOMAINNAME); the interface from the file name", async () => {
      const l = await readLeaseFile(NM_ETH0);
      assert.equal(l?.format, "networkmanager");
      assert.equal(l?.interface, "eth0");
      const r = await discover({ leaseFiles: [NM_ETH0], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.deepEqual(r, { url: "https://prov.example.com/dp/", source: "dhcp-43", caFingerprint: CA_FP, sipServers: ["192.0.2.5", "192.0.2.6"], domain: "example.com", notes: [] });
    });

    it("a lease directory is read newest first; a lease with only ADDRESS= says why it gave nothing", async () => {
      const r = await discover({ leaseDirs: [fx("nm")], interface: "eth1", resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.source, "manual");
      assert.ok(r.notes.some((n) => /NetworkManager lease .*eth1\.lease: holds no DHCP options/.test(n)));
      const all = await discover({ leaseDirs: [fx("nm")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(all.source, "dhcp-43");
    });

    it("a missing lease file, a missing directory or a directory given as a file are notes", async () => {
      const r = await discover({ leaseFiles: [path.join(tmp, "nope.lease"), tmp], leaseDirs: [path.join(tmp, "no-dir")], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.source, "manual");
      assert.ok(r.notes.some((n) => n.startsWith(`${path.join(tmp, "no-dir")}: cannot list lease files (ENOENT)`)));
      assert.ok(r.notes.includes(`${path.join(tmp, "nope.lease")}: no lease in it (or no such file)`));
      assert.ok(r.notes.includes(`lease file ${tmp}: not a regular file`));
    });
  });

  describe("option decoders", () => {
    const url = Buffer.from("https://p.example/");
    it("option 43: pads, end, concatenated sub-options, hex fingerprint, unknown sub-options", () => {
      const fpHex = CA_FP.toUpperCase();
      const v = Buffer.concat([Buffer.from([0, 0]), tlv(1, url.subarray(0, 5)), tlv(7, "x"), tlv(1, url.subarray(5)), tlv(2, fpHex), Buffer.from([255, 1, 99])]);
      assert.deepEqual(decodeVendorOptions(v), { ok: true, value: { url: "https://p.example/", caFingerprint: CA_FP, unknown: [7] } });
    });

    it("option 43: strict about lengths and sizes", () => {
      assert.deepEqual(decodeVendorOptions(Buffer.from([1])), { ok: false, reason: "option 43 sub-option 1 has no length byte (the option ends at 1 bytes)" });
      assert.deepEqual(decodeVendorOptions(Buffer.alloc(0)), { ok: false, reason: "option 43 is empty" });
      assert.deepEqual(decodeVendorOptions(Buffer.concat([tlv(1, url), tlv(2, Buffer.alloc(31))])), {
        ok: false,
        reason: "option 43 sub-option 2 (CA fingerprint) is neither 32 bytes nor 64 hex digits (31 bytes)",
      });
      assert.equal(decodeVendorOptions(tlv(1, Buffer.from([0x68, 0x01, 0x74]))).ok, false);
    });

    it("option 120: both encodings, compression pointers, and what is refused", () => {
      const names = Buffer.from([0, 3, 0x61, 0x62, 0x63, 7, ...Buffer.from("example"), 0, 1, 0x78, 0xc0, 4, 0xc0, 0]);
      assert.deepEqual(decodeSipServers(names), { ok: true, value: ["abc.example", "x.example", "abc.example"] });
      assert.deepEqual(decodeSipServers(Buffer.from([1, 10, 0, 0, 1])), { ok: true, value: ["10.0.0.1"] });
      assert.deepEqual(decodeSipServers(Buffer.from([1, 10, 0, 0])), { ok: false, reason: "option 120 (IPv4 encoding) holds 3 address bytes, not a multiple of 4" });
      assert.match((decodeSipServers(Buffer.from([0, 1, 0x61, 0xc0, 0])) as { reason: string }).reason, /pointer at offset 2 to 0 does not point backwards/);
      assert.match((decodeSipServers(Buffer.from([0, 5, 0x61, 0])) as { reason: string }).reason, /runs past the end/);
      assert.match((decodeSipServers(Buffer.from([2, 1, 2, 3, 4])) as { reason: string }).reason, /unknown encoding byte 2/);
    });

    it("a bad option 120 is a note, the provisioning URL is still found", async () => {
      const f = path.join(tmp, "dhclient.leases");
      await fs.writeFile(f, 'lease {\n  option unknown-120 0:3:61:62;\n  option unknown-160 "https://prov.example.com/";\n}\n');
      const r = await discover({ leaseFiles: [f], resolver: noDns(), resolvConf: NO_RESOLV });
      assert.equal(r.source, "dhcp-160");
      assert.equal(r.sipServers, undefined);
      assert.match(r.notes[0], /: option 120 \(domain names\): label at offset 0 \(length 3\) runs past the end of the option; ignored$/);
    });
  });
});
