export interface RestartPolicyOptions {
  /** The wait before the first replacement of a worker; it doubles with each crash that follows. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Workers in a row that end before they listen: then the server stops (it cannot start). */
  maxStartFailures: number;
  /** A worker that ran this long before it ended starts the back-off afresh. */
  stableMs: number;
}

export const RESTART_POLICY: RestartPolicyOptions = { firstDelayMs: 500, maxDelayMs: 30_000, maxStartFailures: 3, stableMs: 60_000 };

/**
 * When the cluster primary replaces a worker that ended: after a back-off per slot that doubles
 * while its workers keep crashing, and never when workers keep ending before they listen (a
 * replacement would only fail the same way, for ever).
 */
export function createRestartPolicy(options: RestartPolicyOptions = RESTART_POLICY) {
  let startFailures = 0;
  const crashes = new Map<number, number>();
  return {
    listening(): void {
      startFailures = 0;
    },
    /** The wait before the slot's replacement starts, or null: give up. */
    exited(slot: number, worker: { listened: boolean; uptimeMs: number }): number | null {
      if (!worker.listened) {
        startFailures += 1;
        if (startFailures >= options.maxStartFailures) return null;
      }
      const earlier = worker.uptimeMs >= options.stableMs ? 0 : (crashes.get(slot) ?? 0);
      crashes.set(slot, earlier + 1);
      return Math.min(options.firstDelayMs * 2 ** earlier, options.maxDelayMs);
    },
  };
}
