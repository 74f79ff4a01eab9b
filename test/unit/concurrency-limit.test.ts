import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Acquired, createConcurrencyLimit } from "../../src/http/concurrency-limit.js";

const granted = (acquired: Acquired) => {
  if (!acquired.ok) throw new Error(`refused: ${acquired.reason}`);
  return acquired.release;
};

describe("createConcurrencyLimit", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives maxInFlight slots at once and refuses beyond them when no one may wait", async () => {
    const limit = createConcurrencyLimit({ maxInFlight: 2, maxQueued: 0, maxQueueWaitMs: 100 });
    const first = granted(await limit.acquire());
    granted(await limit.acquire());
    expect(await limit.acquire()).toEqual({ ok: false, reason: "full" });
    expect(limit.inFlight).toBe(2);
    first();
    granted(await limit.acquire());
  });

  it("hands a released slot to the longest waiter, in order, and refuses once the queue is full", async () => {
    const limit = createConcurrencyLimit({ maxInFlight: 1, maxQueued: 2, maxQueueWaitMs: 100 });
    const release = granted(await limit.acquire());
    const order: string[] = [];
    const a = limit.acquire().then((acquired) => {
      order.push("a");
      return acquired;
    });
    const b = limit.acquire().then((acquired) => {
      order.push("b");
      return acquired;
    });
    expect(await limit.acquire()).toEqual({ ok: false, reason: "full" });
    expect(limit.queued).toBe(2);

    release();
    const releaseA = granted(await a);
    expect(order).toEqual(["a"]);
    expect(limit).toMatchObject({ inFlight: 1, queued: 1 });
    releaseA();
    granted(await b);
    expect(order).toEqual(["a", "b"]);
  });

  it("refuses a waiter after maxQueueWaitMs and frees its queue place", async () => {
    const limit = createConcurrencyLimit({ maxInFlight: 1, maxQueued: 1, maxQueueWaitMs: 100 });
    const release = granted(await limit.acquire());
    const waiting = limit.acquire();
    await vi.advanceTimersByTimeAsync(99);
    expect(limit.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await waiting).toEqual({ ok: false, reason: "queue_timeout" });
    expect(limit).toMatchObject({ inFlight: 1, queued: 0 });
    release();
    expect(limit.inFlight).toBe(0);
  });

  it("counts a release once, however often it is called", async () => {
    const limit = createConcurrencyLimit({ maxInFlight: 2, maxQueued: 0, maxQueueWaitMs: 100 });
    const release = granted(await limit.acquire());
    granted(await limit.acquire());
    release();
    release();
    expect(limit.inFlight).toBe(1);
  });
});
