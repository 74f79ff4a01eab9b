export interface ConcurrencyLimitOptions {
  maxInFlight: number;
  maxQueued: number;
  maxQueueWaitMs: number;
}

/** Why a request got no slot: every slot and queue place taken, or it waited too long. */
export type Refusal = "full" | "queue_timeout";

export type Acquired = { ok: true; release: () => void } | { ok: false; reason: Refusal };

export interface ConcurrencyLimit {
  /** A slot now, a slot after a wait of at most `maxQueueWaitMs`, or a refusal. */
  acquire(): Promise<Acquired>;
  readonly inFlight: number;
  readonly queued: number;
}

interface Waiter {
  grant: (acquired: Acquired) => void;
  timer: NodeJS.Timeout;
}

/**
 * A counting semaphore with a bounded FIFO wait. Every `release` is idempotent, so a slot is given
 * back exactly once whatever path a request ends on.
 */
export function createConcurrencyLimit(options: ConcurrencyLimitOptions): ConcurrencyLimit {
  let inFlight = 0;
  const waiting: Waiter[] = [];

  function slot(): Acquired {
    inFlight += 1;
    let released = false;
    return {
      ok: true,
      release() {
        if (released) return;
        released = true;
        inFlight -= 1;
        const next = waiting.shift();
        if (next) {
          clearTimeout(next.timer);
          next.grant(slot());
        }
      },
    };
  }

  return {
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return waiting.length;
    },
    acquire() {
      if (inFlight < options.maxInFlight) return Promise.resolve(slot());
      if (waiting.length >= options.maxQueued) return Promise.resolve({ ok: false, reason: "full" });
      return new Promise<Acquired>((resolve) => {
        const waiter: Waiter = {
          grant: resolve,
          timer: setTimeout(() => {
            waiting.splice(waiting.indexOf(waiter), 1);
            resolve({ ok: false, reason: "queue_timeout" });
          }, options.maxQueueWaitMs),
        };
        waiting.push(waiter);
      });
    },
  };
}
