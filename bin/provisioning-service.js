#!/usr/bin/env node
// `provisioning-service --config FILE`: the reference provisioning service, through tsx's loader (no build step).
// tsx is loaded by the URL its package exports give (what `node --import tsx` loads): dependency-cruiser's resolver
// does not read package exports and would call a plain `import "tsx"` unresolvable.
await import(import.meta.resolve("tsx"));
const { serviceMain } = await import("../src/provisioning/server/service-main.ts");
process.exitCode = await serviceMain(process.argv.slice(2));
