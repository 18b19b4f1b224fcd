// Import boundaries: the arrows of ARCHITECTURE.md ("A -> B: A may import B"). `npm run lint` fails on a violation.
/** A room may import only the rooms listed; anything else under src/ (or firmware/test/bench) is forbidden. */
const rooms = {
  "src/base/": [],
  "src/hal/api/": ["src/base/"],
  "src/hal/core/": ["src/hal/api/", "src/base/"],
  // wire protocols both sides speak (kernel input codes, the front-panel frame codec): drivers and emulators share them
  "src/hal/protocol/": ["src/hal/api/", "src/base/"],
  "src/hal/drivers/": ["src/hal/api/", "src/hal/core/", "src/hal/protocol/", "src/base/"],
  "src/hal/emul/": ["src/hal/api/", "src/hal/core/", "src/hal/protocol/", "src/base/"],
  // src/hal/*.ts (board loader, device registry) build devices from drivers; they never touch emulators.
  "src/hal/[^/]+$": ["src/hal/api/", "src/hal/core/", "src/hal/protocol/", "src/hal/drivers/", "src/base/"],
  "src/phone/core/": ["src/base/"],
  "src/phone/[^/]+$": ["src/phone/core/", "src/sip/", "src/media/", "src/location/", "src/provisioning/", "src/hal/api/", "src/base/"],
  "src/ui/": ["src/phone/core/", "src/hal/api/", "src/base/"],
  "src/control/": ["src/phone/core/", "src/hal/api/", "src/hal/emul/", "src/base/"],
  "src/web/": ["src/phone/core/", "src/hal/api/", "src/hal/emul/", "src/control/", "src/base/"],
  "src/sip/": ["src/base/"],
  "src/media/": ["src/hal/api/", "src/base/"],
  "src/location/": ["src/base/"],
  "src/provisioning/": ["src/base/"],
  // launchers for the real peers of the lab and the tests (Kamailio, baresip, sipp): processes, not phone code
  "src/lab/": ["src/base/"],
};

const esc = (s) => s.replace(/[.+?^${}()|\\]/g, "\\$&");

const forbidden = Object.entries(rooms).map(([room, allowed]) => {
  const self = room.endsWith("$") ? room.replace(/\[\^\/\]\+\$$/, "") : room;
  const ok = [self, ...allowed].map((r) => (r.endsWith("$") ? r : esc(r)));
  return {
    name: `room:${room.replace(/\[\^\/\]\+\$$/, "*.ts")}`,
    comment: `${room} may import only ${allowed.join(", ") || "node built-ins and packages"} (ARCHITECTURE.md)`,
    severity: "error",
    from: { path: `^${room.endsWith("$") ? room : esc(room)}` },
    to: { path: "^(src|firmware|test|bench)/", pathNot: `^(${ok.map((r) => r.replace(/\$$/, "")).join("|")})` },
  };
});

forbidden.push(
  {
    name: "nothing-imports-firmware",
    comment: "firmware/ is the composition root: nothing imports it but its own tests and the benchmarks of the deployable",
    severity: "error",
    from: { pathNot: "^(firmware|bench|test/(unit|integration)/firmware)/" },
    to: { path: "^firmware/" },
  },
  {
    name: "src-not-test-or-bench",
    comment: "production code never imports tests or benchmarks",
    severity: "error",
    from: { path: "^(src|firmware)/" },
    to: { path: "^(test|bench)/" },
  },
  {
    name: "no-circular",
    severity: "error",
    from: {},
    to: { circular: true },
  },
  {
    name: "no-unresolvable",
    severity: "error",
    from: {},
    to: { couldNotResolve: true },
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
