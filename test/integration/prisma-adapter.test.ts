import { errors } from "oidc-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOidcPayloadQueries, type OidcPayloadQueries } from "../../src/db/oidc-payloads.js";
import type { Database } from "../../src/db/open-database.js";
import { createPrismaAdapterFactory, idHashFor } from "../../src/oidc/adapter.js";
import { createPayloadCache } from "../../src/oidc/payload-cache.js";
import { applyInvalidation } from "../../src/oidc/payload-invalidation.js";
import { DATABASE_KINDS, openTestDatabase } from "../helpers/test-database.js";

describe.each(DATABASE_KINDS)("oidc-provider adapter on Prisma (%s)", (kind) => {
  let database: Database;
  let queries: OidcPayloadQueries;
  let clock = new Date("2026-01-01T00:00:00Z");
  const noClients = { find: async () => undefined };

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    queries = createOidcPayloadQueries(database.prisma);
  });
  afterAll(() => database?.close());

  // Each adapter gets its own empty cache, so these tests see what the database holds.
  const adapterFor = (model: string) => {
    const cache = createPayloadCache({ maxEntries: 100, ttlSeconds: 0 });
    const invalidate = async (message: Parameters<typeof applyInvalidation>[1]) => applyInvalidation(cache, message);
    return createPrismaAdapterFactory({ queries, clients: noClients, cache, invalidate, now: () => clock })(model);
  };

  it("stores only a hash of the id and strips it from the payload", async () => {
    const tokens = adapterFor("AccessToken");
    await tokens.upsert("secret-token-value", { jti: "secret-token-value", kind: "AccessToken", grantId: "g1", accountId: "u1" }, 60);
    const rows = await database.prisma.oidcPayload.findMany();
    const serialised = JSON.stringify(rows);
    expect(serialised).not.toContain("secret-token-value");
    expect(rows.find((row) => row.idHash === idHashFor("AccessToken", "secret-token-value"))).toBeTruthy();
    await expect(tokens.find("secret-token-value")).resolves.toMatchObject({ jti: "secret-token-value", grantId: "g1", accountId: "u1" });
    // The same id under another model is another row.
    await expect(adapterFor("RefreshToken").find("secret-token-value")).resolves.toBeUndefined();
  });

  it("enforces expiry on read, before any sweep", async () => {
    const codes = adapterFor("AuthorizationCode");
    await codes.upsert("code-1", { jti: "code-1", kind: "AuthorizationCode" }, 10);
    clock = new Date(clock.getTime() + 9_000);
    await expect(codes.find("code-1")).resolves.toBeTruthy();
    clock = new Date(clock.getTime() + 1_000);
    await expect(codes.find("code-1")).resolves.toBeUndefined();
  });

  it("consumes exactly once under a race; the losers revoke the grant", async () => {
    const refresh = adapterFor("RefreshToken");
    const access = adapterFor("AccessToken");
    const grants = adapterFor("Grant");
    await grants.upsert("grant-race", { jti: "grant-race", kind: "Grant" }, 600);
    await refresh.upsert("rt-race", { jti: "rt-race", kind: "RefreshToken", grantId: "grant-race" }, 600);
    await access.upsert("at-race", { jti: "at-race", kind: "AccessToken", grantId: "grant-race" }, 600);

    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => refresh.consume("rt-race")));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(rejected).toHaveLength(9);
    for (const outcome of rejected) expect(outcome.reason).toBeInstanceOf(errors.InvalidGrant);
    await expect(access.find("at-race")).resolves.toBeUndefined();
    await expect(grants.find("grant-race")).resolves.toBeUndefined();
  });

  it("reports consumption as a timestamp", async () => {
    const codes = adapterFor("AuthorizationCode");
    await codes.upsert("code-2", { jti: "code-2", kind: "AuthorizationCode" }, 60);
    await codes.consume("code-2");
    await expect(codes.find("code-2")).resolves.toMatchObject({ consumed: Math.floor(clock.getTime() / 1000) });
  });

  it("revokes by grant id per model and finds sessions by uid", async () => {
    const access = adapterFor("AccessToken");
    const sessions = adapterFor("Session");
    await access.upsert("at-a", { jti: "at-a", kind: "AccessToken", grantId: "grant-a" }, 60);
    await access.upsert("at-b", { jti: "at-b", kind: "AccessToken", grantId: "grant-b" }, 60);
    await sessions.upsert("session-cookie", { jti: "session-cookie", uid: "uid-1", kind: "Session", accountId: "u1" }, 60);
    await access.revokeByGrantId("grant-a");
    await expect(access.find("at-a")).resolves.toBeUndefined();
    await expect(access.find("at-b")).resolves.toBeTruthy();
    const byUid = await sessions.findByUid("uid-1");
    expect(byUid).toMatchObject({ uid: "uid-1", accountId: "u1" });
    expect(byUid).not.toHaveProperty("jti");
    await sessions.destroy("session-cookie");
    await expect(sessions.findByUid("uid-1")).resolves.toBeUndefined();
  });

  it("stores expiry to the millisecond, and a re-save never un-consumes", async () => {
    const codes = adapterFor("AuthorizationCode");
    clock = new Date(Date.UTC(2026, 5, 1, 12, 30, 15, 123));
    await codes.upsert("code-3", { jti: "code-3", kind: "AuthorizationCode" }, 60);
    const row = await database.prisma.oidcPayload.findUniqueOrThrow({ where: { idHash: idHashFor("AuthorizationCode", "code-3") } });
    expect(row.expiresAt?.toISOString()).toBe("2026-06-01T12:31:15.123Z");
    await codes.consume("code-3");
    await codes.upsert("code-3", { jti: "code-3", kind: "AuthorizationCode", scope: "openid" }, 60);
    await expect(codes.find("code-3")).resolves.toMatchObject({ scope: "openid", consumed: expect.any(Number) });
  });

  it("sweeps expired rows", async () => {
    const interactions = adapterFor("Interaction");
    await interactions.upsert("old", { jti: "old", kind: "Interaction" }, 1);
    await interactions.upsert("fresh", { jti: "fresh", kind: "Interaction" }, 3600);
    clock = new Date(clock.getTime() + 5_000);
    const { count } = await queries.deleteExpired(clock);
    expect(count).toBeGreaterThanOrEqual(1);
    expect(await database.prisma.oidcPayload.findUnique({ where: { idHash: idHashFor("Interaction", "old") } })).toBeNull();
    await expect(interactions.find("fresh")).resolves.toBeTruthy();
  });
});
