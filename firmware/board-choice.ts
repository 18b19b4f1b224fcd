// Which board profile to run: --board, then PHONE_BOARD, then /etc/phone/board, then the simulated board.
import { promises as fs } from "node:fs";

export interface BoardChoice {
  board: string;
  why: string;
}

export async function chooseBoard(flag: string | undefined, env: NodeJS.ProcessEnv, etcFile = "/etc/phone/board"): Promise<BoardChoice> {
  if (flag) return { board: flag, why: "--board" };
  if (env.PHONE_BOARD) return { board: env.PHONE_BOARD, why: "PHONE_BOARD" };
  const named = await fs.readFile(etcFile, "utf8").then((s) => s.trim(), () => "");
  if (named) return { board: named, why: etcFile };
  return { board: "sim", why: `no --board, PHONE_BOARD or ${etcFile}: no phone hardware is configured, so the simulated board` };
}
