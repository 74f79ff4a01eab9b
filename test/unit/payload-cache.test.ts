import { describe, expect, it } from "vitest";
import { idHashFor } from "../../src/oidc/adapter-ids.js";
import { createPayloadCache } from "../../src/oidc/payload-cache.js";
import { applyInvalidation } from "../../src/oidc/payload-invalidation.js";

const row = (kind: string, grantId: string | null, clientId = "c1") => ({ kind, payload: { clientId }, grantId, expiresAt: null, consumedAt: null });

describe("payload cache", () => {
  it("expires entries after its TTL and evicts the oldest beyond its size", () => {
    let now = 0;
    const cache = createPayloadCache({ maxEntries: 2, ttlSeconds: 10, now: () => now });
    cache.set("a", row("AccessToken", "g"));
    cache.set("b", row("AccessToken", "g"));
    cache.set("c", row("AccessToken", "g"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeTruthy();
    now = 10_000;
    expect(cache.get("c")).toBeUndefined();
  });

  it("holds nothing while disabled, and empties when disabled", () => {
    const cache = createPayloadCache({ maxEntries: 10, ttlSeconds: 10 });
    cache.set("a", row("AccessToken", "g"));
    cache.setEnabled(false);
    expect(cache.get("a")).toBeUndefined();
    cache.set("b", row("AccessToken", "g"));
    expect(cache.size).toBe(0);
  });

  it("applies invalidations by id, by grant (per model or whole) and by client", () => {
    const cache = createPayloadCache({ maxEntries: 10, ttlSeconds: 10 });
    const fill = () => {
      cache.set("at", row("AccessToken", "g1"));
      cache.set("rt", row("RefreshToken", "g1"));
      cache.set(idHashFor("Grant", "g1"), row("Grant", null));
      cache.set("other", row("AccessToken", "g2", "c2"));
    };
    fill();
    applyInvalidation(cache, { idHash: "at" });
    expect(cache.get("at")).toBeUndefined();
    applyInvalidation(cache, { grantId: "g1", kind: "RefreshToken" });
    expect(cache.get("rt")).toBeUndefined();
    expect(cache.get(idHashFor("Grant", "g1"))).toBeTruthy();
    fill();
    applyInvalidation(cache, { grantId: "g1" });
    expect([cache.get("at"), cache.get("rt"), cache.get(idHashFor("Grant", "g1"))]).toEqual([undefined, undefined, undefined]);
    expect(cache.get("other")).toBeTruthy();
    applyInvalidation(cache, { clientId: "c2" });
    expect(cache.get("other")).toBeUndefined();
  });

  it("drops a fill that began before an eviction arrived (the row read may be the one evicted)", () => {
    const cache = createPayloadCache({ maxEntries: 10, ttlSeconds: 10 });
    const since = cache.generation;
    applyInvalidation(cache, { grantId: "g1" });
    cache.set("at", row("AccessToken", "g1"), since);
    expect(cache.get("at")).toBeUndefined();
    cache.set("at", row("AccessToken", "g1"), cache.generation);
    expect(cache.get("at")).toBeTruthy();
  });

  it("an eviction of one id drops only that id's fills under way; a broad one drops all", () => {
    const cache = createPayloadCache({ maxEntries: 10, ttlSeconds: 10 });
    const since = cache.generation;
    applyInvalidation(cache, { idHash: "old-token" });
    cache.set("old-token", row("RefreshToken", "g1"), since);
    cache.set("new-token", row("RefreshToken", "g1"), since);
    expect(cache.get("old-token")).toBeUndefined();
    expect(cache.get("new-token")).toBeTruthy();
    const before = cache.generation;
    applyInvalidation(cache, { accountId: "someone" });
    cache.set("another", row("AccessToken", "g2"), before);
    expect(cache.get("another")).toBeUndefined();
  });

  it("ignores messages about clients and signing keys", () => {
    const cache = createPayloadCache({ maxEntries: 10, ttlSeconds: 10 });
    cache.set("at", row("AccessToken", "g1", "c1"));
    applyInvalidation(cache, { client: "c1" });
    applyInvalidation(cache, { signingKeys: "changed" });
    expect(cache.get("at")).toBeTruthy();
  });
});

describe("payload cache absences", () => {
  it("tells a known absence (null) from an unknown id (undefined)", () => {
    const cache = createPayloadCache({ maxEntries: 10, ttlSeconds: 10 });
    cache.set("gone", null);
    expect(cache.get("gone")).toBeNull();
    expect(cache.get("never-seen")).toBeUndefined();
    applyInvalidation(cache, { idHash: "gone" });
    expect(cache.get("gone")).toBeUndefined();
  });
});
