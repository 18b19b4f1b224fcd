#!/usr/bin/env node
// `phone` command: runs firmware/main.ts through tsx's loader (no build step on the device).
import { register } from "tsx/esm/api";
register();
await import("../firmware/main.ts");
