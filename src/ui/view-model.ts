// Phone state -> Screen: what each state of the phone shows, in plain words.
import type { PhoneState } from "../phone/core/phone-state.js";
import { MENUS, MENU_TITLES } from "../phone/core/menus.js";
import type { Screen, StatusIcon } from "./screen.js";

export interface ViewContext {
  /** The wall clock as "HH:MM". */
  clock: string;
  /** The line's name on the status bar (extension or "Not provisioned"). */
  lineName: string;
}

export function viewOf(s: PhoneState, ctx: ViewContext): Screen {
  const icons: StatusIcon[] = [];
  if (s.locked) icons.push("lock");
  if (s.dnd) icons.push("dnd");
  const base = { title: ctx.lineName, clock: ctx.clock, icons };
  switch (s.mode) {
    case "idle":
      if (s.locked)
        // no softkeys: on a 4-row LCD the emergency hint needs the row
        return { ...base, body: ["Phone locked", s.unlockEntry ? `PIN: ${"*".repeat(s.unlockEntry.length)}` : "Enter PIN, then OK", s.notice || "Emergency: dial 911"] };
      if (s.menu) {
        const here = s.menu.stack[s.menu.stack.length - 1];
        const body = MENUS[here].map((i) => (i.label === "Do not disturb" ? `Do not disturb: ${s.dnd ? "on" : "off"}` : i.label));
        return { title: MENU_TITLES[here], clock: ctx.clock, icons, body: s.notice ? [...body, s.notice] : body, selected: s.menu.cursor, softkeys: ["", "", "Back", "OK"] };
      }
      return { ...base, body: [s.notice || "Ready", s.dnd ? "Do not disturb" : ""], softkeys: ["Redial", "DND", "", "Menu"] };
    case "dialtone":
      return { ...base, body: ["Dial a number", s.notice], softkeys: ["", "", "", "End"] };
    case "dialing":
      return { ...base, body: [s.dialled, s.notice || ""], softkeys: ["Send", "", "", "End"] };
    case "calling":
      return {
        ...base,
        body: [s.call?.emergency ? `Emergency call ${s.call.target}` : `Calling ${s.call?.target ?? ""}`, s.call?.emergency ? "Stay on the line" : "No SIP service yet"],
        softkeys: ["", "", "", "End"],
      };
  }
}
