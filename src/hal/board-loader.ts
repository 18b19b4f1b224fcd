// Loads a board profile, checks it against board/schema.json and the rules a schema cannot say, and names the bad field.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject } from "ajv";
import { PhoneError, ErrorCodes, errnoCode } from "../base/errors.js";
import { schemaErrorSubject } from "../base/schema-words.js";
import type { BoardProfile, BoardLine } from "./api/board.js";

const boardDir = fileURLToPath(new URL("../../board/", import.meta.url));

/** The folder holding the shipped board files. */
export function shippedBoardDir(): string {
  return boardDir;
}

/** `sim` -> board/sim.json; anything with a slash or ending in .json is a path. */
export function boardPath(nameOrPath: string): string {
  if (nameOrPath.includes("/") || nameOrPath.endsWith(".json")) return path.resolve(nameOrPath);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(nameOrPath))
    throw new PhoneError(ErrorCodes.BOARD_NOT_FOUND, `'${nameOrPath}' is not a board name (use a name from board/ or a path to a .json file)`);
  return path.join(boardDir, `${nameOrPath}.json`);
}

export async function listShippedBoards(): Promise<string[]> {
  const files = await fs.readdir(boardDir);
  return files.filter((f) => f.endsWith(".json") && f !== "schema.json").map((f) => f.slice(0, -5)).sort();
}

let compiled: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

async function validator(): Promise<((data: unknown) => boolean) & { errors?: ErrorObject[] | null }> {
  if (compiled) return compiled;
  const schema = JSON.parse(await fs.readFile(path.join(boardDir, "schema.json"), "utf8")) as object;
  const ajv = new Ajv({ allErrors: true, strict: false });
  compiled = ajv.compile(schema);
  return compiled;
}

function describe(e: ErrorObject, data: unknown): string {
  const { where, got, allowed } = schemaErrorSubject(e, data);
  const shown = got === undefined ? "" : ` (got ${JSON.stringify(got)?.slice(0, 60)})`;
  switch (e.keyword) {
    case "required":
      return `${where}: missing required field '${(e.params as { missingProperty: string }).missingProperty}'`;
    case "additionalProperties":
      return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
    case "enum":
      return `${where}: must be one of ${JSON.stringify(allowed)}${shown}`;
    case "const":
      return `${where}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}${shown}`;
    case "pattern":
      if (e.schemaPath.includes("keymap") || e.schemaPath.includes("keyId"))
        return `${where}: ${JSON.stringify(got)} is not a key name (digits, *, #, SEND, END, HOLD, MENU, SOFT1-4, LINE1-n, ...)`;
      return `${where}: ${e.message ?? e.keyword}${shown}`;
    default:
      return `${where}: ${e.message ?? e.keyword}${shown}`;
  }
}

/** Checks that JSON Schema cannot express: the same GPIO line used twice, keymap sizes, references to a front panel. */
function crossChecks(b: BoardProfile): string[] {
  const problems: string[] = [];
  const used = new Map<number, string>();
  const claim = (l: BoardLine, who: string): void => {
    const prev = used.get(l.line);
    if (prev) problems.push(`${who}: GPIO line ${l.line} is already used by ${prev}`);
    else used.set(l.line, who);
  };
  const k = b.keypad;
  if (k.driver === "gpio-matrix") {
    k.rows.forEach((l, i) => claim(l, `/keypad/rows/${i}`));
    k.cols.forEach((l, i) => claim(l, `/keypad/cols/${i}`));
    if (k.keymap.length !== k.rows.length) problems.push(`/keypad/keymap: has ${k.keymap.length} rows but /keypad/rows lists ${k.rows.length} lines`);
    k.keymap.forEach((r, i) => {
      if (r.length !== k.cols.length) problems.push(`/keypad/keymap/${i}: has ${r.length} keys but /keypad/cols lists ${k.cols.length} lines`);
    });
  }
  if (k.driver === "tca8418") {
    claim(k.int, "/keypad/int");
    if (k.keymap.some((r) => r.length > 10)) problems.push("/keypad/keymap: the TCA8418 has at most 10 columns");
  }
  if (k.driver === "gpio-matrix" || k.driver === "tca8418") {
    const seen = new Set<string>();
    k.keymap.flat().forEach((key) => {
      if (key && seen.has(key)) problems.push(`/keypad/keymap: key '${key}' appears twice`);
      seen.add(key);
    });
  }
  if (b.hook.driver === "gpio") claim(b.hook.line, "/hook/line");
  if (b.leds.driver === "gpio") for (const [id, l] of Object.entries(b.leds.leds)) claim(l, `/leds/leds/${id}`);
  const usesGpio = k.driver === "gpio-matrix" || k.driver === "tca8418" || b.hook.driver === "gpio" || b.leds.driver === "gpio";
  if (usesGpio && !b.gpioChip) problems.push("/gpioChip: required when any device is wired to GPIO (list the chip labels, e.g. [\"pinctrl-bcm2711\"])");
  const usesPanel = [k.driver, b.hook.driver, b.leds.driver, b.display.driver].includes("frontpanel");
  if (usesPanel && !b.frontpanel) problems.push("/frontpanel: required when a role's driver is 'frontpanel'");
  if (b.timing.hookFlashMinMs >= b.timing.hookFlashMaxMs)
    problems.push(`/timing/hookFlashMinMs: must be below hookFlashMaxMs (${b.timing.hookFlashMinMs} >= ${b.timing.hookFlashMaxMs})`);
  if (b.timing.debounceMs >= b.timing.hookFlashMinMs)
    problems.push(`/timing/debounceMs: must be below hookFlashMinMs, or a flash could never be seen`);
  if (b.display.driver === "hd44780-pcf8574" && b.keypad.driver === "tca8418" && b.display.bus === b.keypad.bus && b.display.address === b.keypad.address)
    problems.push("/display/address: the display and the keypad controller share one I2C address");
  return problems;
}

/** Parses and validates board JSON; `source` names the file in errors. */
export async function parseBoard(text: string, source: string): Promise<BoardProfile> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PhoneError(ErrorCodes.BOARD_INVALID, `${source}: not valid JSON: ${(e as Error).message}`, { file: source });
  }
  const validate = await validator();
  if (!validate(data)) {
    const errs = (validate.errors ?? []).filter((e) => e.keyword !== "if");
    const lines = [...new Set(errs.map((e) => describe(e, data)))];
    throw new PhoneError(ErrorCodes.BOARD_INVALID, `${source}: ${lines.slice(0, 5).join("; ")}`, { file: source, problems: lines });
  }
  const board = data as BoardProfile;
  const problems = crossChecks(board);
  if (problems.length)
    throw new PhoneError(ErrorCodes.BOARD_INVALID, `${source}: ${problems.slice(0, 5).join("; ")}`, { file: source, problems });
  return board;
}

export async function loadBoard(nameOrPath: string): Promise<BoardProfile> {
  const file = boardPath(nameOrPath);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") {
      const known = await listShippedBoards().catch(() => []);
      throw new PhoneError(ErrorCodes.BOARD_NOT_FOUND, `no board file ${file} (shipped boards: ${known.join(", ")})`, { file });
    }
    throw new PhoneError(ErrorCodes.BOARD_INVALID, `cannot read board file ${file}: ${(e as Error).message}`, { file });
  }
  return parseBoard(text, path.relative(process.cwd(), file) || file);
}
