// Wire-level fixes for sip.js 0.21.2 (sipjs-node.md §2), applied by the transport to every incoming message.

/**
 * The REGISTER `Expires` NaN loop: a 2xx to REGISTER that gives the expiry only in an `Expires:` header (no
 * `;expires` on the Contact) makes sip.js arm a NaN timer that fires at once: hundreds of REGISTERs a second.
 * Copy the header's value onto every Contact that lacks one.
 */
export function fixRegisterExpires(m: string): string {
  if (!/^SIP\/2\.0 2\d\d /.test(m) || !/^CSeq[ \t]*:[ \t]*\d+[ \t]+REGISTER[ \t]*$/im.test(m)) return m;
  const end = m.indexOf("\r\n\r\n");
  const head = end < 0 ? m : m.slice(0, end);
  const exp = /^Expires[ \t]*:[ \t]*(\d+)/im.exec(head)?.[1];
  if (!exp) return m;
  const fixed = head.replace(/^(Contact|m)([ \t]*:.*)$/gim, (line) => (/;[ \t]*expires[ \t]*=/i.test(line) ? line : line.split(/,(?=[ \t]*<)/).map((c) => `${c};expires=${exp}`).join(",")));
  return end < 0 ? fixed : fixed + m.slice(end);
}
