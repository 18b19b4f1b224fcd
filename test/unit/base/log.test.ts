import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../../../src/base/log.js";

describe("logger", () => {
  it("writes structured lines and never a PIN, password or key", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ destination: sink, level: "debug" });
    log.info({ pin: "12345", account: { user: "1001", password: "s3cret" }, nested: { deep: { key: "k3y" } } }, "sign-in");
    await new Promise((r) => setImmediate(r));
    const text = lines.join("");
    assert.match(text, /"msg":"sign-in"/);
    assert.match(text, /"user":"1001"/);
    for (const secret of ["12345", "s3cret", "k3y"]) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.match(text, /\[redacted\]/);
  });
});
