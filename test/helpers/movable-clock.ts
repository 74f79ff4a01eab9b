import { vi } from "vitest";

/** A clock that runs with real time, moved forward on demand (to pass a delay without waiting). */
export function movableClock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    move(seconds: number) {
      offsetMs += seconds * 1000;
    },
  };
}

/**
 * Moves this process's clock forward, to pass a lifetime without waiting it out. Test servers run
 * in this process, and everything on a sign-in's path tells the time through `Date`: oidc-provider
 * (whole-second `iat`/`exp`/`loginTs`), our services, the adapter's payload cache, the cookie jar
 * (a browser whose clock moved) and openid-client. Only `Date` is faked: timers stay real, and the
 * moved clock keeps running from where it was set. Undo with `restoreClock` in `afterEach`.
 *
 * PostgreSQL's clock does not move (PGlite's does): a path tested this way must pass its times to
 * SQL as parameters (src/db/sql-time.ts), never compare with the database's `now()`.
 */
export function moveClock(seconds: number): void {
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
  vi.setSystemTime(Date.now() + seconds * 1000);
}

/** Back to the real clock (after `moveClock`). */
export function restoreClock(): void {
  vi.useRealTimers();
}
