// The menu tree and its navigation: MENU opens it, UP/DOWN move, OK enters, BACK leaves. Pure data and functions.

/** "delegates": the boss's Menu > Delegates (delegation.ts); "bosses": a delegate's bosses (the Bosses softkey). */
export type MenuId = "main" | "settings" | "history" | "directory" | "location" | "about" | "delegates" | "bosses";

export interface MenuState {
  /** The menus entered, outermost first; the last one is on screen. */
  stack: MenuId[];
  cursor: number;
}

/** Each menu's lines; an entry naming a MenuId opens it on OK. */
export const MENUS: Readonly<Record<MenuId, ReadonlyArray<{ label: string; opens?: MenuId }>>> = {
  main: [
    { label: "Settings", opens: "settings" },
    { label: "Call history", opens: "history" },
    { label: "Directory", opens: "directory" },
    { label: "Location", opens: "location" },
    { label: "About", opens: "about" },
  ],
  settings: [{ label: "Do not disturb" }, { label: "Phone lock" }, { label: "Sign out" }, { label: "Factory reset" }],
  history: [{ label: "No calls yet" }],
  directory: [{ label: "No directory yet" }],
  location: [{ label: "No location known" }],
  about: [{ label: "deskphone 0.1.0" }],
  delegates: [{ label: "Add delegate" }],
  bosses: [{ label: "No bosses" }],
};

export const MENU_TITLES: Readonly<Record<MenuId, string>> = {
  main: "Menu",
  settings: "Settings",
  history: "Call history",
  directory: "Directory",
  location: "Location",
  about: "About",
  delegates: "Delegates",
  bosses: "Bosses",
};

export function openMenu(): MenuState {
  return { stack: ["main"], cursor: 0 };
}

/** The result of a key in a menu: the new menu state, or null when the menu closed; `chose` names a picked line. */
export interface MenuItem {
  label: string;
  opens?: MenuId;
  /** What choosing the line means, when not its label (e.g. "call:1002" on a call-history line). */
  value?: string;
}

export function menuKey(m: MenuState, key: string, lines?: readonly MenuItem[]): { menu: MenuState | null; chose?: string } {
  const here = m.stack[m.stack.length - 1];
  const items: readonly MenuItem[] = lines?.length ? lines : MENUS[here];
  switch (key) {
    case "UP":
      return { menu: { ...m, cursor: (m.cursor + items.length - 1) % items.length } };
    case "DOWN":
      return { menu: { ...m, cursor: (m.cursor + 1) % items.length } };
    case "OK":
    case "SOFT4": {
      const item = items[m.cursor];
      if (item?.opens) return { menu: { stack: [...m.stack, item.opens], cursor: 0 } };
      return { menu: m, chose: item?.value ?? item?.label };
    }
    case "BACK":
    case "SOFT3":
      return { menu: m.stack.length > 1 ? { stack: m.stack.slice(0, -1), cursor: 0 } : null };
    case "MENU":
    case "END":
      return { menu: null };
    default:
      return { menu: m };
  }
}
