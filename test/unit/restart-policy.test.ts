import { describe, expect, it } from "vitest";
import { createRestartPolicy } from "../../src/cluster/restart-policy.js";

const OPTIONS = { firstDelayMs: 500, maxDelayMs: 4_000, maxStartFailures: 3, stableMs: 60_000 };
const crashed = { listened: true, uptimeMs: 1_000 };
const failedToStart = { listened: false, uptimeMs: 1_000 };

describe("the cluster primary's restart policy", () => {
  it("waits longer after each crash of a slot's workers, up to the maximum", () => {
    const policy = createRestartPolicy(OPTIONS);
    expect([1, 2, 3, 4, 5].map(() => policy.exited(0, crashed))).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
  });

  it("keeps each slot's back-off to itself, and starts afresh after a worker that ran for a while", () => {
    const policy = createRestartPolicy(OPTIONS);
    policy.exited(0, crashed);
    policy.exited(0, crashed);
    expect(policy.exited(1, crashed)).toBe(500);
    expect(policy.exited(0, { listened: true, uptimeMs: 60_000 })).toBe(500);
  });

  it("gives up when workers keep ending before they listen, whichever slot", () => {
    const policy = createRestartPolicy(OPTIONS);
    expect(policy.exited(0, failedToStart)).toBe(500);
    expect(policy.exited(1, failedToStart)).toBe(500);
    expect(policy.exited(0, failedToStart)).toBeNull();
  });

  it("counts start failures in a row only: a worker that listens resets them", () => {
    const policy = createRestartPolicy(OPTIONS);
    policy.exited(0, failedToStart);
    policy.exited(0, failedToStart);
    policy.listening();
    expect(policy.exited(0, failedToStart)).not.toBeNull();
  });
});
