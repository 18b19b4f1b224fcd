// A child process for the power-cut test: saves a provisioned state over and over (alternating two valid ones) with
// the phone's own store code until it is killed. Args: DATA_DIR STATE_A_JSON_FILE STATE_B_JSON_FILE.
import { promises as fs } from "node:fs";
import { saveProvisioned, type ProvisionedState } from "../../src/provisioning/device-store.js";

const [dir, a, b] = process.argv.slice(2);
const states = [JSON.parse(await fs.readFile(a, "utf8")) as ProvisionedState, JSON.parse(await fs.readFile(b, "utf8")) as ProvisionedState];
process.stdout.write("writing\n");
for (let i = 0; ; i++) await saveProvisioned(dir, states[i % 2]);
