/**
 * Polls `fn` every `everyMs` until it returns something truthy, and returns that; a throw counts as "not yet" (and is
 * named in the timeout's message). For end-to-end tests that wait for an installation to converge.
 * @throws Error `timed out waiting for <what>` (with the last error's message) after `timeoutMs`.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 90_000, everyMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
