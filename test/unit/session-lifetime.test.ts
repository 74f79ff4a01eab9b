import { describe, expect, it } from "vitest";
import { sessionLifetime } from "../../src/oidc/provider.js";

const TTL = { sessionIdleSeconds: 100, sessionAbsoluteSeconds: 1000, keepSignedInSeconds: 10_000 };

describe("sessionLifetime", () => {
  it("gives a session before sign-in the idle lifetime", () => {
    expect(sessionLifetime(TTL, {}, 5000)).toBe(100);
  });

  it("caps the idle lifetime by the absolute one counted from sign-in", () => {
    expect(sessionLifetime(TTL, { loginTs: 5000, transient: true }, 5000)).toBe(100);
    expect(sessionLifetime(TTL, { loginTs: 5000, transient: true }, 5950)).toBe(50);
    expect(sessionLifetime(TTL, { loginTs: 5000, transient: true }, 7000)).toBe(1);
  });

  it("keeps a remembered session until its longer absolute end, without the idle timeout", () => {
    expect(sessionLifetime(TTL, { loginTs: 5000 }, 5000)).toBe(10_000);
    expect(sessionLifetime(TTL, { loginTs: 5000 }, 14_000)).toBe(1000);
  });
});
