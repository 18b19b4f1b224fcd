// Kamailio's db_text subscriber table as the lab's registrar writes it (src/lab/registrar.ts), kept in step with the
// users by every admin operation that changes them.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../../../src/base/clock.js";
import { ProvisioningStore } from "../../../../src/provisioning/server/store.js";
import { subscriberTable, SUBSCRIBER_HEADER } from "../../../../src/provisioning/server/kamailio-subscribers.js";
import * as ops from "../../../../src/provisioning/server/admin-ops.js";
import { DEFAULT_PIN_POLICY } from "../../../../src/provisioning/server/pin-policy.js";
import { DEFAULT_LOCKOUT } from "../../../../src/provisioning/server/lockout.js";

describe("Kamailio subscriber file", () => {
  // the header and rows src/lab/registrar.ts writes: `${i + 1}:${user}:127.0.0.1:${password, ':' and '\\' escaped}::`
  it("has the lab's header and one `id:username:domain:password::` row per user", () => {
    assert.equal(SUBSCRIBER_HEADER, "id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null)");
    const text = subscriberTable(
      [
        { sipUser: "1001", sipPassword: "abcDEF234" },
        { sipUser: "1002", sipPassword: "p:w\\x" },
      ],
      "127.0.0.1",
    );
    assert.equal(text, `${SUBSCRIBER_HEADER}\n1:1001:127.0.0.1:abcDEF234::\n2:1002:127.0.0.1:p\\:w\\\\x::\n`);
  });

  describe("kept in step by the admin operations", () => {
    let dir: string;
    let store: ProvisioningStore;
    let ctx: ops.AdminContext;
    let file: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "kam-sub-"));
      file = path.join(dir, "subscriber");
      const clock = new ManualClock();
      store = ProvisioningStore.open(path.join(dir, "p.db"), { clock });
      ctx = { store, settings: { sipDomain: "pbx.example", kamailioSubscriberFile: file, pinPolicy: DEFAULT_PIN_POLICY, lockout: DEFAULT_LOCKOUT, scrypt: { N: 1024, r: 8, p: 1 } }, now: () => clock.wallNow() };
    });
    afterEach(async () => {
      store.close();
      await fs.rm(dir, { recursive: true, force: true });
    });

    it("rewrites it (0600, atomically) after add-user, set-sip-password and remove-user", async () => {
      await ops.addUser(ctx, { extension: "1002", name: "Bob", sipPassword: "bob-secret-1" });
      await ops.addUser(ctx, { extension: "1001", name: "Alice", pin: "13579" });
      const alice = store.getUser("1001")!;
      assert.equal(await fs.readFile(file, "utf8"), `${SUBSCRIBER_HEADER}\n1:1001:pbx.example:${alice.sipPassword}::\n2:1002:pbx.example:bob-secret-1::\n`);
      assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
      await ops.setSipPassword(ctx, "1002", "bob-secret-2");
      assert.match(await fs.readFile(file, "utf8"), /\n2:1002:pbx\.example:bob-secret-2::\n$/);
      await ops.removeUser(ctx, "1001");
      assert.equal(await fs.readFile(file, "utf8"), `${SUBSCRIBER_HEADER}\n1:1002:pbx.example:bob-secret-2::\n`);
      assert.deepEqual((await fs.readdir(dir)).filter((f) => f.endsWith(".tmp")), [], "no temp file left behind");
    });

    it("is not touched by a refused operation", async () => {
      await assert.rejects(ops.addUser(ctx, { extension: "1001", name: "Alice", pin: "12345" }), /PIN refused: 4 or more consecutive digits \(12345\)/);
      await assert.rejects(fs.access(file));
      assert.equal(store.getUser("1001"), undefined);
    });
  });
});
