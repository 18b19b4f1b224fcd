// EmulatedI2cBus: routing by address, NACKs shaped like the real driver's, fault injection, counters.
import assert from "node:assert/strict";
import { PhoneError, ErrorCodes, isPhoneError } from "../../../../src/base/errors.js";
import { EmulatedI2cBus, type I2cDeviceEmul, type I2cTransfer } from "../../../../src/hal/emul/i2c-bus-emul.js";
import { NodeI2cBus, type RawI2cBus } from "../../../../src/hal/drivers/i2c-bus-node.js";

/** A device that records what it is sent and answers reads with a counter. */
class Recorder implements I2cDeviceEmul {
  readonly got: number[][] = [];
  private n = 0;
  write(bytes: Uint8Array): void {
    this.got.push([...bytes]);
  }
  read(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.n++ & 0xff);
  }
}

describe("hal/emul EmulatedI2cBus", () => {
  it("routes transfers to the device at the address; writeRead is a write then a read", async () => {
    const bus = new EmulatedI2cBus(3);
    const a = new Recorder();
    const b = new Recorder();
    bus.attach(0x20, a);
    bus.attach(0x21, b);
    await bus.write(0x20, Uint8Array.of(1, 2, 3));
    assert.deepEqual([...(await bus.writeRead(0x21, Uint8Array.of(9), 2))], [0, 1]);
    assert.deepEqual([...(await bus.read(0x21, 1))], [2]);
    assert.deepEqual(a.got, [[1, 2, 3]]);
    assert.deepEqual(b.got, [[9]]);
    assert.equal(bus.bus, 3);
    assert.deepEqual(bus.addresses(), [0x20, 0x21]);
  });

  it("NACKs an empty address with the same code and message as the real driver", async () => {
    const bus = new EmulatedI2cBus(1);
    const emulated = await bus.write(0x27, Uint8Array.of(0)).then(() => undefined, (e: unknown) => e);
    const nack = Object.assign(new Error("EREMOTEIO: remote I/O error, write"), { code: "EREMOTEIO" });
    const raw = { i2cWrite: async () => Promise.reject(nack) } as unknown as RawI2cBus;
    const real = await new NodeI2cBus(1, raw).write(0x27, Uint8Array.of(0)).then(() => undefined, (e: unknown) => e);
    assert.ok(isPhoneError(emulated, ErrorCodes.I2C_NACK));
    assert.ok(isPhoneError(real, ErrorCodes.I2C_NACK));
    assert.equal(emulated.message, real.message);
    assert.match(emulated.message, /0x27 on \/dev\/i2c-1/);
    assert.equal(await bus.probe(0x27), false);
  });

  it("probes with a one-byte read that reaches the device", async () => {
    const bus = new EmulatedI2cBus(1);
    const d = new Recorder();
    bus.attach(0x3c, d);
    assert.equal(await bus.probe(0x3c), true);
    assert.deepEqual([...(await bus.read(0x3c, 1))], [1], "the probe consumed byte 0");
  });

  it("injects NACKs for the next N transfers to one address only, then recovers", async () => {
    const bus = new EmulatedI2cBus(1);
    const a = new Recorder();
    const b = new Recorder();
    bus.attach(0x20, a);
    bus.attach(0x21, b);
    bus.failNext(0x20, "nack", 2);
    await assert.rejects(bus.write(0x20, Uint8Array.of(1)), { code: "PHONE_ERR_I2C_NACK" });
    await bus.write(0x21, Uint8Array.of(5));
    assert.equal(await bus.probe(0x20), false, "a probe is a transfer too and meets the second NACK");
    await bus.write(0x20, Uint8Array.of(2));
    assert.deepEqual(a.got, [[2]], "nothing of a NACKed transfer reaches the device");
    assert.deepEqual(b.got, [[5]]);
  });

  it("injects EIO, optionally after part of a write has reached the device", async () => {
    const bus = new EmulatedI2cBus(1);
    const d = new Recorder();
    bus.attach(0x20, d);
    bus.failNext(0x20, "eio", 1, { afterBytes: 2 });
    bus.failNext(0x20, "eio");
    await assert.rejects(bus.write(0x20, Uint8Array.of(1, 2, 3, 4)), (e: unknown) => isPhoneError(e, ErrorCodes.I2C_IO) && /0x20 on \/dev\/i2c-1/.test(e.message));
    await assert.rejects(bus.read(0x20, 1), { code: "PHONE_ERR_I2C_IO" });
    assert.deepEqual(d.got, [[1, 2]]);
  });

  it("passes a device's own PhoneError through unchanged", async () => {
    const bus = new EmulatedI2cBus(1);
    const err = new PhoneError(ErrorCodes.I2C_IO, "chip says no");
    bus.attach(0x20, { write: () => { throw err; }, read: () => new Uint8Array(0) });
    await assert.rejects(bus.write(0x20, Uint8Array.of(1)), (e: unknown) => e === err);
  });

  it("counts transactions and bytes, and reports each transfer", async () => {
    const bus = new EmulatedI2cBus(1);
    bus.attach(0x20, new Recorder());
    const seen: I2cTransfer[] = [];
    const off = bus.onTransfer((t) => seen.push(t));
    await bus.write(0x20, Uint8Array.of(1, 2, 3));
    await bus.writeRead(0x20, Uint8Array.of(7), 4);
    await bus.write(0x55, Uint8Array.of(1)).catch(() => undefined);
    off();
    await bus.read(0x20, 2);
    assert.deepEqual(bus.stats(), { transactions: 4, bytesWritten: 4, bytesRead: 6 });
    assert.deepEqual(seen.map((t) => [t.kind, t.addr, [...t.data], t.readLength, t.error?.code]), [
      ["write", 0x20, [1, 2, 3], 0, undefined],
      ["writeRead", 0x20, [7], 4, undefined],
      ["write", 0x55, [1], 0, "PHONE_ERR_I2C_NACK"],
    ]);
  });

  it("detaches a device (its address NACKs), refuses two devices at one address, and survives close", async () => {
    const bus = new EmulatedI2cBus(1);
    bus.attach(0x20, new Recorder());
    assert.throws(() => bus.attach(0x20, new Recorder()), { code: "PHONE_ERR_DEVICE_BUSY" });
    assert.throws(() => bus.attach(0x80, new Recorder()), { code: "PHONE_ERR_BAD_REQUEST" });
    bus.detach(0x20);
    await assert.rejects(bus.write(0x20, Uint8Array.of(1)), { code: "PHONE_ERR_I2C_NACK" });
    await bus.close();
    bus.attach(0x20, new Recorder());
    await bus.write(0x20, Uint8Array.of(1)); // a platform hands the same bus out again after a restart
  });
});
