// sysfs GPIO: finding the chip by label, mapping board offsets to base + offset, and the errors a board owner sees.
import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/base/clock.js";
import { ErrorCodes, isPhoneError } from "../../../../src/base/errors.js";
import { openSysfsGpioChip, scanSysfsGpioChips } from "../../../../src/hal/drivers/gpio-sysfs.js";
import { FakeSysfsKernel, type FakeChip } from "./fake-sysfs-kernel.js";

const PREFERENCE = ["pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835"];

// Chip sets as the kernels show them (hardware-hal.md §1): the user bank's base moved from 0 to 512 / 571.
const BOARDS: { name: string; chips: FakeChip[]; want: FakeChip }[] = [
  {
    name: "Pi 3 on an older kernel (base 0)",
    chips: [{ label: "pinctrl-bcm2835", base: 0, ngpio: 54 }, { label: "raspberrypi-exp-gpio", base: 504, ngpio: 8 }],
    want: { label: "pinctrl-bcm2835", base: 0, ngpio: 54 },
  },
  {
    name: "Pi 4 on kernel 6.6 (base 512)",
    chips: [{ label: "raspberrypi-exp-gpio", base: 570, ngpio: 8 }, { label: "pinctrl-bcm2711", base: 512, ngpio: 58 }],
    want: { label: "pinctrl-bcm2711", base: 512, ngpio: 58 },
  },
  {
    name: "Pi 5 on Bookworm (base 571, brcmstb chips below it)",
    chips: [
      { label: "gpio-brcmstb@107d508500", base: 512, ngpio: 32 },
      { label: "gpio-brcmstb@107d508520", base: 544, ngpio: 4 },
      { label: "pinctrl-rp1", base: 571, ngpio: 54 },
      { label: "gpio-brcmstb@107d517c00", base: 548, ngpio: 17 },
    ],
    want: { label: "pinctrl-rp1", base: 571, ngpio: 54 },
  },
];

describe("gpio-sysfs: chip discovery and numbering", () => {
  const kernels: FakeSysfsKernel[] = [];
  const make = async (chips: FakeChip[], opts?: { withClassDir?: boolean }): Promise<FakeSysfsKernel> => {
    const k = await FakeSysfsKernel.create(chips, opts);
    kernels.push(k);
    return k;
  };
  afterEach(async () => {
    for (const k of kernels.splice(0)) await k.remove();
  });

  for (const b of BOARDS) {
    it(`${b.name}: finds ${b.want.label} and exports base + offset`, async () => {
      const k = await make(b.chips);
      const chip = await openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() });
      assert.equal(chip.label, b.want.label);
      assert.equal(chip.lines, b.want.ngpio);
      const line = chip.request({ line: 17, direction: "out", initial: 1, consumer: "test" });
      const n = b.want.base + 17;
      assert.deepEqual(k.writes.filter((w) => w.startsWith("export")), [`export ${n}`]);
      assert.ok(k.exported(n));
      assert.equal(k.raw(n), 1);
      line.close();
      assert.equal(k.exported(n), false);
      chip.close();
    });
  }

  it("lists every chip with its label, base and ngpio, lowest base first", async () => {
    const k = await make(BOARDS[2].chips);
    const chips = await scanSysfsGpioChips(k.root);
    assert.deepEqual(
      chips.map((c) => [c.label, c.base, c.ngpio]),
      [...BOARDS[2].chips].sort((a, b) => a.base - b.base).map((c) => [c.label, c.base, c.ngpio]),
    );
  });

  it("takes the first label in board order, not the first chip in the tree", async () => {
    const k = await make([
      { label: "pinctrl-bcm2835", base: 0, ngpio: 54 },
      { label: "pinctrl-bcm2711", base: 512, ngpio: 58 },
    ]);
    const chip = await openSysfsGpioChip(["pinctrl-bcm2711", "pinctrl-bcm2835"], { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() });
    assert.equal(chip.label, "pinctrl-bcm2711");
    chip.request({ line: 4, direction: "in" });
    assert.ok(k.exported(516));
    chip.close();
  });

  it("without /sys/class/gpio: GPIO_UNAVAILABLE pointing at the evdev drivers", async () => {
    const k = await make([], { withClassDir: false });
    await assert.rejects(
      openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() }),
      (e: unknown) => isPhoneError(e, ErrorCodes.GPIO_UNAVAILABLE) && e.message.includes("evdev") && e.message.includes(k.classDir),
    );
  });

  it("no chip with a wanted label: GPIO_CHIP_NOT_FOUND listing the labels found", async () => {
    const k = await make([{ label: "gpio-mockup-A", base: 0, ngpio: 8 }, { label: "tegra-gpio", base: 300, ngpio: 100 }]);
    await assert.rejects(
      openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() }),
      (e: unknown) =>
        isPhoneError(e, ErrorCodes.GPIO_CHIP_NOT_FOUND) &&
        e.message.includes("gpio-mockup-A") &&
        e.message.includes("tegra-gpio") &&
        e.message.includes("pinctrl-rp1"),
    );
  });

  it("an offset at or past ngpio is a board error naming the line, and nothing is exported", async () => {
    const k = await make([{ label: "pinctrl-bcm2711", base: 512, ngpio: 58 }]);
    const chip = await openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() });
    assert.throws(
      () => chip.request({ line: 58, direction: "in", consumer: "hook" }),
      (e: unknown) => isPhoneError(e, ErrorCodes.BOARD_INVALID) && /line 58 \(hook\)/.test(e.message) && e.message.includes("0-57"),
    );
    assert.deepEqual(k.writes, []);
    chip.close();
  });

  it("export EBUSY (a kernel driver owns the pin): DEVICE_BUSY naming line and sysfs number", async () => {
    const k = await make([{ label: "pinctrl-bcm2711", base: 512, ngpio: 58 }]);
    const chip = await openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() });
    k.failExport(529, "EBUSY");
    assert.throws(
      () => chip.request({ line: 17, direction: "in", consumer: "hook" }),
      (e: unknown) => isPhoneError(e, ErrorCodes.DEVICE_BUSY) && e.message.includes("line 17") && e.message.includes("gpio529"),
    );
    // The failed request leaves the line free to try again.
    chip.request({ line: 17, direction: "in", consumer: "hook" });
    assert.ok(k.exported(529));
    chip.close();
  });

  it("export EACCES: PERMISSION telling to join group gpio", async () => {
    const k = await make([{ label: "pinctrl-rp1", base: 571, ngpio: 54 }]);
    const chip = await openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() });
    k.failExport(571 + 22, "EACCES");
    assert.throws(
      () => chip.request({ line: 22, direction: "out", consumer: "LED MESSAGE" }),
      (e: unknown) => isPhoneError(e, ErrorCodes.PERMISSION) && /group gpio/.test(e.message) && e.message.includes("LED MESSAGE"),
    );
    chip.close();
  });

  it("export EINVAL (the kernel does not know the number): GPIO_UNAVAILABLE with the cause", async () => {
    const k = await make([{ label: "pinctrl-rp1", base: 571, ngpio: 54 }]);
    const chip = await openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() });
    k.failExport(571 + 5, "EINVAL");
    assert.throws(
      () => chip.request({ line: 5, direction: "in" }),
      (e: unknown) => isPhoneError(e, ErrorCodes.GPIO_UNAVAILABLE) && e.message.includes("gpio576") && (e.cause as { code?: string }).code === "EINVAL",
    );
    chip.close();
  });

  it("refuses a sysfs root other than /sys with the real onoff, which would export under /sys anyway", async () => {
    const k = await make([{ label: "pinctrl-rp1", base: 571, ngpio: 54 }]);
    await assert.rejects(openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root }), (e: unknown) =>
      isPhoneError(e, ErrorCodes.NOT_SUPPORTED),
    );
  });

  it("a line requested twice is busy, and the kernel sees one export", async () => {
    const k = await make([{ label: "pinctrl-bcm2711", base: 512, ngpio: 58 }]);
    const chip = await openSysfsGpioChip(PREFERENCE, { clock: new ManualClock(), sysfsRoot: k.root, loadOnoff: k.loadOnoff() });
    chip.request({ line: 27, direction: "in", consumer: "hook" });
    assert.throws(() => chip.request({ line: 27, direction: "in", consumer: "row 0" }), (e: unknown) =>
      isPhoneError(e, ErrorCodes.DEVICE_BUSY) && e.message.includes("hook"),
    );
    assert.deepEqual(k.writes.filter((w) => w.startsWith("export")), ["export 539"]);
    chip.close();
    assert.equal(k.exported(539), false);
  });
});
