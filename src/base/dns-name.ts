// A domain name in RFC 1035 wire form (RFC 1035 §3.1: length-prefixed labels ending with the zero-length root label),
// as a DHCP option carries exactly one: the access-network domain of LIS discovery (DHCPv4 option 213, DHCPv6 option
// 57, RFC 5986 §3.1-3.3). Shared by provisioning (reading leases) and location (LIS discovery), which may not import
// each other.

export type DnsNameDecoded = { ok: true; value: string } | { ok: false; reason: string };

/** RFC 1035 §2.3.4 / RFC 5986 §3.1: label octets and length octets together, the root label's included. */
export const MAX_DNS_NAME_OCTETS = 255;

/**
 * Decodes a value that must be one uncompressed RFC 1035 name, filling the value exactly (RFC 5986 §3.1: "The high-order
 * two bits of every length octet MUST be zero", at most 255 octets; §3.2: "MUST contain precisely one root label").
 * Labels are letters, digits, '-' and '_' (a name that can be looked up as typed). The name comes back lower case,
 * without the trailing dot. Never throws: a refusal says why, in words, with the offset of the fault.
 */
export function decodeSingleDnsName(v: Uint8Array): DnsNameDecoded {
  const fail = (reason: string): DnsNameDecoded => ({ ok: false, reason });
  if (v.length === 0) return fail("is empty (no domain name)");
  const labels: string[] = [];
  let pos = 0;
  for (;;) {
    if (pos >= v.length) return fail(`has no root label: the name is not ended by a zero octet (${v.length} octets read)`);
    const len = v[pos];
    if (len === 0) break;
    if (len & 0xc0) {
      const what = (len & 0xc0) === 0xc0 ? "a compression pointer" : "a reserved label type";
      return fail(`has ${what} at offset ${pos} (0x${len.toString(16)}); the high two bits of a length octet must be zero (RFC 5986 §3.1)`);
    }
    if (pos + 1 + len > v.length) return fail(`label at offset ${pos} (length ${len}) runs past the end of the value (${v.length} octets): the name is cut short`);
    const label = v.subarray(pos + 1, pos + 1 + len);
    const bad = label.findIndex((c) => !isLabelChar(c));
    if (bad >= 0) return fail(`label at offset ${pos} holds ${describe(label[bad])}, which a domain name to look up cannot hold`);
    labels.push(Buffer.from(label).toString("latin1").toLowerCase());
    pos += 1 + len;
    if (pos + 1 > MAX_DNS_NAME_OCTETS) return fail(`is longer than ${MAX_DNS_NAME_OCTETS} octets (RFC 5986 §3.1)`);
  }
  // pos is the root label
  if (pos + 1 < v.length) {
    const more = v.length - pos - 1;
    return fail(`has more than one root label: ${more} octet${more === 1 ? "" : "s"} follow the root label at offset ${pos}; it must hold precisely one name (RFC 5986 §3.2)`);
  }
  if (!labels.length) return fail("names only the root (a single zero octet), no domain");
  return { ok: true, value: labels.join(".") };
}

function isLabelChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f;
}

function describe(c: number): string {
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `the octet 0x${c.toString(16).padStart(2, "0")}`;
}
