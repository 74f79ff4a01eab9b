import { type Adapter, errors } from "oidc-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefaults } from "../../src/config.js";
import { createHotPayloadQueries, type HotPayloadQueries } from "../../src/db/hot-payloads.js";
import { createOidcPayloadQueries, type OidcPayloadQueries } from "../../src/db/oidc-payloads.js";
import type { Database } from "../../src/db/open-database.js";
import { createPrismaAdapterFactory, idHashFor } from "../../src/oidc/adapter.js";
import { createPayloadCache } from "../../src/oidc/payload-cache.js";
import { applyInvalidation } from "../../src/oidc/payload-invalidation.js";
import { heardAt } from "../helpers/heard.js";
import { DATABASE_KINDS, openTestDatabase } from "../helpers/test-database.js";
import type { TestServer } from "../helpers/test-server.js";
import { startTwoInstances, stopInstances } from "../helpers/two-instances.js";

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

describe.each(DATABASE_KINDS)("oidc-provider adapter on Prisma (%s)", (kind) => {
  let database: Database;
  let queries: OidcPayloadQueries;
  let hot: HotPayloadQueries;
  let clock = new Date("2026-01-01T00:00:00Z");
  const noClients = { find: async () => undefined };
  // One process's adapters as services.ts builds them: every model shares one payload cache with
  // production's setting, so these tests see what a running server serves, cache included.
  const { caches } = loadDefaults();
  const cache = createPayloadCache({ maxEntries: caches.oidcPayloadEntries, ttlSeconds: caches.oidcPayloadSeconds });
  const invalidate = async (message: Parameters<typeof applyInvalidation>[1]) => applyInvalidation(cache, message);
  const evictHere = (message: Parameters<typeof applyInvalidation>[1]) => applyInvalidation(cache, message);
  const adapterFor = (model: string) => createPrismaAdapterFactory({ queries, hot, clients: noClients, cache, invalidate, evictHere, now: () => clock })(model);
  const stored = (model: string, id: string) => database.prisma.oidcPayload.findUnique({ where: { idHash: idHashFor(model, id) } });

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    queries = createOidcPayloadQueries(database.prisma);
    hot = createHotPayloadQueries(database.hot, "adapter-test");
  });
  afterAll(() => database?.close());

  it("runs with the payload cache on, as production does", () => {
    expect(caches.oidcPayloadSeconds).toBeGreaterThan(0);
  });

  it("stores only a hash of the id and strips it from the payload", async () => {
    const tokens = adapterFor("AccessToken");
    await tokens.upsert("secret-token-value", { jti: "secret-token-value", kind: "AccessToken", grantId: "g1", accountId: "u1" }, 60);
    const rows = await database.prisma.oidcPayload.findMany();
    expect(JSON.stringify(rows)).not.toContain("secret-token-value");
    expect(rows.map((row) => row.idHash)).toEqual([idHashFor("AccessToken", "secret-token-value")]);
    await expect(tokens.find("secret-token-value")).resolves.toEqual({ jti: "secret-token-value", kind: "AccessToken", grantId: "g1", accountId: "u1" });
    // The same id under another model is another row.
    await expect(adapterFor("RefreshToken").find("secret-token-value")).resolves.toBeUndefined();
  });

  it("enforces expiry on read, before any sweep", async () => {
    const codes = adapterFor("AuthorizationCode");
    await codes.upsert("code-1", { jti: "code-1", kind: "AuthorizationCode" }, 10);
    clock = new Date(clock.getTime() + 9_000);
    await expect(codes.find("code-1")).resolves.toEqual({ jti: "code-1", kind: "AuthorizationCode" });
    clock = new Date(clock.getTime() + 1_000);
    await expect(codes.find("code-1")).resolves.toBeUndefined();
  });

  it("consumes exactly once under a race; the losers revoke the grant, in the cache as in the database", async () => {
    const refresh = adapterFor("RefreshToken");
    const access = adapterFor("AccessToken");
    const grants = adapterFor("Grant");
    await grants.upsert("grant-race", { jti: "grant-race", kind: "Grant" }, 600);
    await refresh.upsert("rt-race", { jti: "rt-race", kind: "RefreshToken", grantId: "grant-race" }, 600);
    await access.upsert("at-race", { jti: "at-race", kind: "AccessToken", grantId: "grant-race" }, 600);
    await expect(access.find("at-race")).resolves.toEqual({ jti: "at-race", kind: "AccessToken", grantId: "grant-race" });

    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => refresh.consume("rt-race")));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(rejected).toHaveLength(9);
    for (const outcome of rejected) expect(outcome.reason).toBeInstanceOf(errors.InvalidGrant);
    await expect(access.find("at-race")).resolves.toBeUndefined();
    await expect(grants.find("grant-race")).resolves.toBeUndefined();
    await expect(refresh.find("rt-race")).resolves.toBeUndefined();
    expect(await database.prisma.oidcPayload.count({ where: { OR: [{ grantId: "grant-race" }, { idHash: idHashFor("Grant", "grant-race") }] } })).toBe(0);
  });

  it("stores a result only into an interaction that still exists: one ended meanwhile stays ended", async () => {
    const interactions = adapterFor("Interaction");
    await interactions.upsert("int-1", { kind: "Interaction", returnTo: "/auth/int-1" }, 600);
    await interactions.upsert("int-1", { kind: "Interaction", returnTo: "/auth/int-1", result: { login: { accountId: "u1" } } }, 600);
    await expect(interactions.find("int-1")).resolves.toMatchObject({ result: { login: { accountId: "u1" } } });

    // Resumed (destroyed) by one request while another was verifying a sign-in for it.
    await interactions.destroy("int-1");
    await expect(interactions.upsert("int-1", { kind: "Interaction", result: { login: { accountId: "u1" } } }, 600)).rejects.toBeInstanceOf(
      errors.SessionNotFound,
    );
    expect(await stored("Interaction", "int-1")).toBeNull();

    // Expired: the same.
    await interactions.upsert("int-2", { kind: "Interaction" }, 10);
    clock = new Date(clock.getTime() + 10_000);
    await expect(interactions.upsert("int-2", { kind: "Interaction", result: { consent: {} } }, 600)).rejects.toBeInstanceOf(errors.SessionNotFound);
    expect((await stored("Interaction", "int-2"))?.payload).toEqual({ kind: "Interaction" });
  });

  it("reports consumption as the time of the consume, in seconds", async () => {
    const codes = adapterFor("AuthorizationCode");
    await codes.upsert("code-2", { jti: "code-2", kind: "AuthorizationCode" }, 60);
    await expect(codes.find("code-2")).resolves.toEqual({ jti: "code-2", kind: "AuthorizationCode" });
    await codes.consume("code-2");
    await expect(codes.find("code-2")).resolves.toEqual({ jti: "code-2", kind: "AuthorizationCode", consumed: epochSeconds(clock) });
  });

  it("revokes by grant id per model and finds sessions by uid", async () => {
    const access = adapterFor("AccessToken");
    const sessions = adapterFor("Session");
    await access.upsert("at-a", { jti: "at-a", kind: "AccessToken", grantId: "grant-a" }, 60);
    await access.upsert("at-b", { jti: "at-b", kind: "AccessToken", grantId: "grant-b" }, 60);
    await sessions.upsert("session-cookie", { jti: "session-cookie", uid: "uid-1", kind: "Session", accountId: "u1" }, 60);
    await access.revokeByGrantId("grant-a");
    await expect(access.find("at-a")).resolves.toBeUndefined();
    expect(await stored("AccessToken", "at-a")).toBeNull();
    await expect(access.find("at-b")).resolves.toEqual({ jti: "at-b", kind: "AccessToken", grantId: "grant-b" });
    await expect(sessions.findByUid("uid-1")).resolves.toEqual({ uid: "uid-1", kind: "Session", accountId: "u1" });
    await sessions.destroy("session-cookie");
    await expect(sessions.findByUid("uid-1")).resolves.toBeUndefined();
  });

  it("stores expiry to the millisecond", async () => {
    const codes = adapterFor("AuthorizationCode");
    clock = new Date(Date.UTC(2026, 5, 1, 12, 30, 15, 123));
    await codes.upsert("code-3", { jti: "code-3", kind: "AuthorizationCode" }, 60);
    expect((await stored("AuthorizationCode", "code-3"))?.expiresAt?.toISOString()).toBe("2026-06-01T12:31:15.123Z");
  });

  it("a consumed code saved again stays consumed, in the cache as in the database", async () => {
    const codes = adapterFor("AuthorizationCode");
    await codes.upsert("code-4", { jti: "code-4", kind: "AuthorizationCode" }, 60);
    // Served (and so held) unconsumed, as oidc-provider reads a code before redeeming it.
    await expect(codes.find("code-4")).resolves.toEqual({ jti: "code-4", kind: "AuthorizationCode" });
    const consumedAt = clock;
    await codes.consume("code-4");
    clock = new Date(clock.getTime() + 2_000);
    // oidc-provider saves a model with upsert whatever it holds: here a consumed code, re-saved.
    await codes.upsert("code-4", { jti: "code-4", kind: "AuthorizationCode", scope: "openid", consumed: epochSeconds(consumedAt) }, 60);
    await expect(codes.find("code-4")).resolves.toEqual({ jti: "code-4", kind: "AuthorizationCode", scope: "openid", consumed: epochSeconds(consumedAt) });
    expect((await stored("AuthorizationCode", "code-4"))?.consumedAt?.toISOString()).toBe(consumedAt.toISOString());
    await expect(codes.consume("code-4")).rejects.toBeInstanceOf(errors.InvalidGrant);
  });

  it("serves copies: changing a payload read or saved changes nothing stored", async () => {
    const grants = adapterFor("Grant");
    const saved = { jti: "grant-copy", kind: "Grant", accountId: "u1", openid: { scope: "openid" } };
    await grants.upsert("grant-copy", saved, 600);
    // The model oidc-provider builds from a payload keeps its nested objects, and Grant#addOIDCScope
    // changes them in place (before a save that may never come, or fail).
    saved.openid.scope = "openid email";
    const found = (await grants.find("grant-copy")) as typeof saved;
    expect(found.openid).toEqual({ scope: "openid" });
    found.openid.scope = "openid email profile";
    await expect(grants.find("grant-copy")).resolves.toEqual({ jti: "grant-copy", kind: "Grant", accountId: "u1", openid: { scope: "openid" } });
    expect((await stored("Grant", "grant-copy"))?.payload).toEqual({ kind: "Grant", accountId: "u1", openid: { scope: "openid" } });
  });

  it("sweeps expired rows, and only those", async () => {
    await database.prisma.oidcPayload.deleteMany();
    const interactions = adapterFor("Interaction");
    await interactions.upsert("old", { jti: "old", kind: "Interaction" }, 1);
    await interactions.upsert("fresh", { jti: "fresh", kind: "Interaction" }, 3600);
    await adapterFor("Grant").upsert("no-expiry", { jti: "no-expiry", kind: "Grant" }, 0);
    clock = new Date(clock.getTime() + 5_000);
    const { count } = await queries.deleteExpired(clock);
    expect(count).toBe(1);
    const left = await database.prisma.oidcPayload.findMany({ select: { idHash: true } });
    expect(left.map((row) => row.idHash).sort()).toEqual([idHashFor("Interaction", "fresh"), idHashFor("Grant", "no-expiry")].sort());
    await expect(interactions.find("fresh")).resolves.toEqual({ jti: "fresh", kind: "Interaction" });
  });
});

// Each server process has its own payload cache; what one changes, the others must stop serving.
describe.skipIf(!process.env.TEST_POSTGRES_URL)("oidc-provider adapter across two instances on one PostgreSQL database", () => {
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    [first, second] = await startTwoInstances("postgres");
  });
  afterAll(() => stopInstances(first, second));

  // The adapter each provider really uses, with its process's cache and invalidation channel.
  const codesAt = (server: TestServer): Adapter => server.provider.AuthorizationCode.adapter;
  const aboutCode = (id: string) => (message: object) => "idHash" in message && message.idHash === idHashFor("AuthorizationCode", id);

  it("a code consumed at one instance and saved again at the other is consumed at both", async () => {
    await codesAt(first).upsert("shared-code", { jti: "shared-code", kind: "AuthorizationCode" }, 60);
    // Both hold it unconsumed.
    await expect(codesAt(first).find("shared-code")).resolves.toEqual({ jti: "shared-code", kind: "AuthorizationCode" });
    await expect(codesAt(second).find("shared-code")).resolves.toEqual({ jti: "shared-code", kind: "AuthorizationCode" });

    const heardAtSecond = heardAt(second, aboutCode("shared-code"));
    await codesAt(first).consume("shared-code");
    await heardAtSecond;
    const { consumed } = (await codesAt(second).find("shared-code")) as { consumed: number };
    expect(consumed).toBe(
      epochSeconds(
        (await first.database.prisma.oidcPayload.findUniqueOrThrow({ where: { idHash: idHashFor("AuthorizationCode", "shared-code") } })).consumedAt as Date,
      ),
    );

    // oidc-provider saves a model with upsert whatever it holds: here the consumed code, re-saved.
    const heardAtFirst = heardAt(first, aboutCode("shared-code"));
    await codesAt(second).upsert("shared-code", { jti: "shared-code", kind: "AuthorizationCode", scope: "openid", consumed }, 60);
    const resaved = { jti: "shared-code", kind: "AuthorizationCode", scope: "openid", consumed };
    await expect(codesAt(second).find("shared-code")).resolves.toEqual(resaved);
    await heardAtFirst;
    await expect(codesAt(first).find("shared-code")).resolves.toEqual(resaved);
  });
});
