// The real /dev/i2c-N driver: missing bus nodes, and the errno -> PhoneError mapping through a stand-in i2c-bus.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isPhoneError } from "../../../../src/base/errors.js";
import { NodeI2cBus, openNodeI2cBus, type RawI2cBus } from "../../../../src/hal/drivers/i2c-bus-node.js";

const sysErr = (code: string, message = `${code}: system error`): Error => Object.assign(new Error(message), { code });

/** An i2c-bus PromisifiedBus stand-in: every call is logged and answered by `answer`. */
function fakeRaw(answer: (call: string, args: unknown[]) => unknown): { raw: RawI2cBus; calls: string[] } {
  const calls: string[] = [];
  const f =
    (name: string) =>
    async (...args: unknown[]): Promise<unknown> => {
      calls.push(name);
      return answer(name, args);
    };
  const raw = { i2cWrite: f("i2cWrite"), i2cRead: f("i2cRead"), readByte: f("readByte"), readI2cBlock: f("readI2cBlock"), close: f("close") } as unknown as RawI2cBus;
  return { raw, calls };
}

describe("hal/drivers openNodeI2cBus", () => {
  it("rejects with DEVICE_ABSENT naming the node when devDir has no i2c-N", async () => {
    const dir = mkdtempSync(join(tmpdir(), "i2c-node-"));
    try {
      await assert.rejects(openNodeI2cBus(1, { devDir: dir }), (e: unknown) => {
        assert.ok(isPhoneError(e, "PHONE_ERR_DEVICE_ABSENT"));
        assert.ok(e.message.includes(join(dir, "i2c-1")), e.message);
        assert.match(e.message, /dtparam=i2c_arm=on/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects with DEVICE_ABSENT for /dev/i2c-97, which no machine here has", async () => {
    await assert.rejects(openNodeI2cBus(97), (e: unknown) => isPhoneError(e, "PHONE_ERR_DEVICE_ABSENT") && e.message.includes("/dev/i2c-97"));
  });
});

describe("hal/drivers NodeI2cBus", () => {
  const cases: Array<[string, Error, string, RegExp]> = [
    ["EREMOTEIO (i2c-bcm2835)", sysErr("EREMOTEIO"), "PHONE_ERR_I2C_NACK", /no ACK from 0x27 on \/dev\/i2c-1/],
    ["ENXIO", sysErr("ENXIO"), "PHONE_ERR_I2C_NACK", /no ACK from 0x27/],
    ["a bare 'Remote I/O error'", new Error("Remote I/O error"), "PHONE_ERR_I2C_NACK", /no ACK from 0x27/],
    ["EIO", sysErr("EIO"), "PHONE_ERR_I2C_IO", /0x27 on \/dev\/i2c-1/],
    ["ETIMEDOUT", sysErr("ETIMEDOUT"), "PHONE_ERR_I2C_IO", /ETIMEDOUT/],
    ["EACCES", sysErr("EACCES"), "PHONE_ERR_PERMISSION", /group i2c/],
    ["ENOENT", sysErr("ENOENT"), "PHONE_ERR_DEVICE_ABSENT", /\/dev\/i2c-1/],
    ["EBUSY", sysErr("EBUSY"), "PHONE_ERR_DEVICE_BUSY", /kernel driver/],
  ];
  for (const [what, err, code, msg] of cases) {
    it(`maps ${what} from a write to ${code}`, async () => {
      const { raw } = fakeRaw(() => Promise.reject(err));
      await assert.rejects(new NodeI2cBus(1, raw).write(0x27, Uint8Array.of(1)), (e: unknown) => {
        assert.ok(isPhoneError(e), String(e));
        assert.equal(e.code, code);
        assert.match(e.message, msg);
        assert.equal(e.details.address, 0x27);
        return true;
      });
    });
  }

  it("probes with a one-byte read: true on ACK, false on NACK, an error on EIO", async () => {
    let answer: unknown = { bytesRead: 1, buffer: Buffer.alloc(1) };
    const { raw, calls } = fakeRaw(() => (answer instanceof Error ? Promise.reject(answer) : answer));
    const bus = new NodeI2cBus(1, raw);
    assert.equal(await bus.probe(0x3c), true);
    answer = sysErr("EREMOTEIO");
    assert.equal(await bus.probe(0x3c), false);
    answer = sysErr("EIO");
    await assert.rejects(bus.probe(0x3c), { code: "PHONE_ERR_I2C_IO" });
    assert.deepEqual(calls, ["i2cRead", "i2cRead", "i2cRead"]);
  });

  it("reads registers with a repeated start where SMBus allows it, else write then read", async () => {
    const { raw, calls } = fakeRaw((call, args) => {
      if (call === "readByte") return 0x5a;
      if (call === "readI2cBlock" || call === "i2cRead") {
        const [, lenOrCmd, a, b] = args as [number, number, number | Buffer, Buffer?];
        const buf = (b ?? a) as Buffer;
        const len = call === "i2cRead" ? lenOrCmd : (a as number);
        buf.fill(7, 0, len);
        return { bytesRead: len, buffer: buf };
      }
      return { bytesWritten: (args[1] as number) ?? 0, buffer: args[2] };
    });
    const bus = new NodeI2cBus(1, raw);
    assert.deepEqual([...(await bus.writeRead(0x34, Uint8Array.of(0x02), 1))], [0x5a]);
    assert.deepEqual([...(await bus.writeRead(0x34, Uint8Array.of(0x04), 3))], [7, 7, 7]);
    assert.deepEqual([...(await bus.writeRead(0x50, Uint8Array.of(0x00, 0x10), 2))], [7, 7]);
    assert.deepEqual(calls, ["readByte", "readI2cBlock", "i2cWrite", "i2cRead"]);
  });

  it("treats a short write as an I/O error, rejects bad addresses, and refuses use after close", async () => {
    const { raw, calls } = fakeRaw((call) => (call === "i2cWrite" ? { bytesWritten: 1 } : undefined));
    const bus = new NodeI2cBus(1, raw);
    await assert.rejects(bus.write(0x27, Uint8Array.of(1, 2)), (e: unknown) => isPhoneError(e, "PHONE_ERR_I2C_IO") && /short write/.test(e.message));
    await assert.rejects(bus.write(0x78, Uint8Array.of(1)), { code: "PHONE_ERR_BAD_REQUEST" });
    await bus.close();
    await bus.close();
    await assert.rejects(bus.write(0x27, Uint8Array.of(1)), { code: "PHONE_ERR_DEVICE_CLOSED" });
    assert.deepEqual(calls, ["i2cWrite", "close"]);
  });
});
