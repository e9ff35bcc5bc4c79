/** Longest wait between two attempts: Retry-After is capped here too (SPEC §7). */
export const MAX_RETRY_DELAY_MS = 60_000;

/** Exponential backoff from 250 ms, or the server's Retry-After, capped at 60 s. */
export function retryDelayMs(attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 0), MAX_RETRY_DELAY_MS);
  const base = 250 * 2 ** (attempt - 1);
  // Jitter keeps parallel downloads from retrying in lockstep.
  return Math.min(base + Math.floor(Math.random() * base * 0.25), MAX_RETRY_DELAY_MS);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
