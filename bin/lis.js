#!/usr/bin/env node
// `deskphone-lis --wiremap FILE --port N [--cert F --key F] [--host H]`: the reference LIS (HELD location server),
// through tsx's loader (no build step). tsx is loaded by the URL its package exports give (what `node --import tsx`
// loads): dependency-cruiser's resolver does not read package exports and would call a plain `import "tsx"`
// unresolvable.
await import(import.meta.resolve("tsx"));
const { lisMain } = await import("../src/location/lis/lis-main.ts");
process.exitCode = await lisMain(process.argv.slice(2));
