// What an ajv schema error is about, for messages in words: the field (ajv's instancePath, an RFC 6901 JSON pointer;
// "/" for the whole document), the value found there, and for an `enum` error the values allowed. Shared by the board
// loader (src/hal) and IT's policies (src/provisioning), which may not import each other; each keeps its own wording.
import type { ErrorObject } from "ajv";

/** The value at an RFC 6901 JSON pointer in `data` ("" is `data` itself); undefined where there is none. */
export function valueAtPointer(data: unknown, pointer: string): unknown {
  let v: unknown = data;
  for (const part of pointer.split("/").slice(1)) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return v;
}

/** Where a schema error is, the value there (undefined: none), and the allowed values of an `enum` error (else []). */
export function schemaErrorSubject(e: ErrorObject, data: unknown): { where: string; got: unknown; allowed: unknown[] } {
  const allowed = e.keyword === "enum" ? ((e.params as { allowedValues?: unknown[] }).allowedValues ?? []) : [];
  return { where: e.instancePath || "/", got: valueAtPointer(data, e.instancePath), allowed };
}
