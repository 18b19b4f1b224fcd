#!/usr/bin/env node
// `deskphone-admin`: the provisioning service's admin CLI (users, PINs, devices, policies), through tsx's loader.
// tsx is loaded by the URL its package exports give (what `node --import tsx` loads): dependency-cruiser's resolver
// does not read package exports and would call a plain `import "tsx"` unresolvable.
await import(import.meta.resolve("tsx"));
const { adminMain } = await import("../src/provisioning/server/admin-cli.ts");
process.exitCode = await adminMain(process.argv.slice(2));
