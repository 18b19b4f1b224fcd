// The part of linux/input-event-codes.h a desk phone uses: event types and KEY_*/BTN_*/SW_* codes by name.
// Values are the kernel's UAPI and never change; checked against /usr/include/linux/input-event-codes.h in tests.

export const EV_TYPES: Readonly<Record<string, number>> = Object.freeze({
  EV_SYN: 0x00,
  EV_KEY: 0x01,
  EV_REL: 0x02,
  EV_ABS: 0x03,
  EV_MSC: 0x04,
  EV_SW: 0x05,
  EV_LED: 0x11,
  EV_SND: 0x12,
  EV_REP: 0x14,
});

export const SYN_REPORT = 0;
/** The kernel's buffer overflowed and events were dropped; a reader must resynchronise. */
export const SYN_DROPPED = 3;

export const KEY_CODES: Readonly<Record<string, number>> = Object.freeze({
  KEY_ESC: 1,
  KEY_1: 2,
  KEY_2: 3,
  KEY_3: 4,
  KEY_4: 5,
  KEY_5: 6,
  KEY_6: 7,
  KEY_7: 8,
  KEY_8: 9,
  KEY_9: 10,
  KEY_0: 11,
  KEY_MINUS: 12,
  KEY_EQUAL: 13,
  KEY_BACKSPACE: 14,
  KEY_TAB: 15,
  KEY_ENTER: 28,
  KEY_A: 30,
  KEY_B: 48,
  KEY_C: 46,
  KEY_D: 32,
  KEY_KPASTERISK: 55,
  KEY_SPACE: 57,
  KEY_F1: 59,
  KEY_F2: 60,
  KEY_F3: 61,
  KEY_F4: 62,
  KEY_F5: 63,
  KEY_F6: 64,
  KEY_F7: 65,
  KEY_F8: 66,
  KEY_F9: 67,
  KEY_F10: 68,
  KEY_KP7: 71,
  KEY_KP8: 72,
  KEY_KP9: 73,
  KEY_KPMINUS: 74,
  KEY_KP4: 75,
  KEY_KP5: 76,
  KEY_KP6: 77,
  KEY_KPPLUS: 78,
  KEY_KP1: 79,
  KEY_KP2: 80,
  KEY_KP3: 81,
  KEY_KP0: 82,
  KEY_KPDOT: 83,
  KEY_F11: 87,
  KEY_F12: 88,
  KEY_KPENTER: 96,
  KEY_KPSLASH: 98,
  KEY_HOME: 102,
  KEY_UP: 103,
  KEY_LEFT: 105,
  KEY_RIGHT: 106,
  KEY_END: 107,
  KEY_DOWN: 108,
  KEY_DELETE: 111,
  KEY_MUTE: 113,
  KEY_VOLUMEDOWN: 114,
  KEY_VOLUMEUP: 115,
  KEY_POWER: 116,
  KEY_PAUSE: 119,
  KEY_AGAIN: 129,
  KEY_HELP: 138,
  KEY_MENU: 139,
  KEY_SETUP: 141,
  KEY_MAIL: 155,
  KEY_BACK: 158,
  KEY_FORWARD: 159,
  KEY_PHONE: 169,
  KEY_EXIT: 174,
  KEY_REDO: 182,
  KEY_CANCEL: 223,
  KEY_SEND: 231,
  KEY_REPLY: 232,
  KEY_MICMUTE: 248,
  BTN_0: 0x100,
  BTN_1: 0x101,
  BTN_2: 0x102,
  BTN_3: 0x103,
  BTN_4: 0x104,
  BTN_5: 0x105,
  BTN_6: 0x106,
  BTN_7: 0x107,
  BTN_8: 0x108,
  BTN_9: 0x109,
  KEY_OK: 0x160,
  KEY_SELECT: 0x161,
  KEY_INFO: 0x166,
  KEY_NEXT: 0x197,
  KEY_PREVIOUS: 0x19c,
  KEY_VOICEMAIL: 0x1ac,
  KEY_ADDRESSBOOK: 0x1ad,
  KEY_PICKUP_PHONE: 0x1bd,
  KEY_HANGUP_PHONE: 0x1be,
  KEY_NUMERIC_0: 0x200,
  KEY_NUMERIC_1: 0x201,
  KEY_NUMERIC_2: 0x202,
  KEY_NUMERIC_3: 0x203,
  KEY_NUMERIC_4: 0x204,
  KEY_NUMERIC_5: 0x205,
  KEY_NUMERIC_6: 0x206,
  KEY_NUMERIC_7: 0x207,
  KEY_NUMERIC_8: 0x208,
  KEY_NUMERIC_9: 0x209,
  KEY_NUMERIC_STAR: 0x20a,
  KEY_NUMERIC_POUND: 0x20b,
  KEY_NUMERIC_A: 0x20c,
  KEY_NUMERIC_B: 0x20d,
  KEY_NUMERIC_C: 0x20e,
  KEY_NUMERIC_D: 0x20f,
  KEY_UNMUTE: 0x274,
});

export const SW_CODES: Readonly<Record<string, number>> = Object.freeze({
  SW_LID: 0x00,
  SW_TABLET_MODE: 0x01,
  SW_HEADPHONE_INSERT: 0x02,
  SW_MICROPHONE_INSERT: 0x04,
  SW_DOCK: 0x05,
  SW_LINEOUT_INSERT: 0x06,
  SW_JACK_PHYSICAL_INSERT: 0x07,
  SW_KEYPAD_SLIDE: 0x0a,
  SW_LINEIN_INSERT: 0x0d,
  SW_MUTE_DEVICE: 0x0e,
  SW_MACHINE_COVER: 0x10,
});

/** KEY_MAX from the header: codes above it are not keys. */
export const KEY_MAX = 0x2ff;
export const SW_MAX = 0x10;

/** A KEY_/BTN_ name or a decimal/0x number -> the code; undefined when it is neither. */
export function keyCode(nameOrNumber: string | number): number | undefined {
  return lookup(nameOrNumber, KEY_CODES, KEY_MAX);
}

/** A SW_ name or a number -> the code; undefined when it is neither. */
export function switchCode(nameOrNumber: string | number): number | undefined {
  return lookup(nameOrNumber, SW_CODES, SW_MAX);
}

function lookup(v: string | number, table: Readonly<Record<string, number>>, max: number): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 && v <= max ? v : undefined;
  const s = v.trim();
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(s)) return lookup(Number(s), table, max);
  return Object.hasOwn(table, s) ? table[s] : undefined;
}
