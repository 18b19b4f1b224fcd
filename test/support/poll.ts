// Real-time polling for integration tests: waits until a condition holds, failing with what was awaited.
/** Polls `cond` every `stepMs` (real time) until it holds; throws "timed out waiting for <what>" after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 15000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
