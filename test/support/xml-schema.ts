// The schema check every test of the location room makes: xmllint (libxml2, the real validator) against the vendored
// PIDF-LO or HELD driver schema, offline. Null when the document validates, else xmllint's complaint.
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const schemas = fileURLToPath(new URL("../fixtures/location-schemas/", import.meta.url));

export type LocationSchema = "pidf-lo-validate.xsd" | "held-validate.xsd";

/** xmllint's verdict on `xml` against `schema`: null when it validates, else what xmllint said. */
export async function schemaComplaint(xml: string, schema: LocationSchema = "pidf-lo-validate.xsd"): Promise<string | null> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "xsd-"));
  const file = path.join(dir, "doc.xml");
  await fs.writeFile(file, xml);
  try {
    await run("xmllint", ["--noout", "--nonet", "--schema", schema, file], { cwd: schemas });
    return null;
  } catch (e) {
    return (e as { stderr?: string }).stderr ?? (e as Error).message;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
