import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createHotPayloadQueries, type HotPayloadQueries, INVALIDATION_CHANNEL } from "../../src/db/hot-payloads.js";
import { listenForInvalidations } from "../../src/db/invalidation-channel.js";
import type { OidcPayloadRow } from "../../src/db/oidc-payloads.js";
import type { Database } from "../../src/db/open-database.js";
import { createLogger } from "../../src/logger.js";
import { DATABASE_KINDS, openTestDatabase } from "../helpers/test-database.js";

// The token path's statements on the driver, one test (or two) each, on a real database.
describe.each(DATABASE_KINDS)("hot oidc_payload statements (%s)", (kind) => {
  let database: Database;
  let hot: HotPayloadQueries;
  let serial = 0;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    hot = createHotPayloadQueries(database.hot, "this-process");
  });
  afterAll(() => database?.close());

  const rowOf = (overrides: Partial<OidcPayloadRow> = {}): OidcPayloadRow => {
    serial += 1;
    return {
      idHash: `hash-${serial}`,
      kind: "RefreshToken",
      payload: { kind: "RefreshToken", scope: "openid", nested: { list: [1, "two"] } },
      grantId: "grant-1",
      accountId: "account-1",
      uid: null,
      userCodeHash: null,
      expiresAt: new Date("2026-03-01T12:34:56.789Z"),
      ...overrides,
    };
  };
  const stored = (idHash: string) => database.prisma.oidcPayload.findUnique({ where: { idHash } });

  it("upserts a payload: inserts, then replaces without clearing consumed_at, saying which it did", async () => {
    const row = rowOf({ uid: "uid-1", userCodeHash: "code-hash" });
    await expect(hot.upsertPayload(row)).resolves.toBe(false);
    expect(await stored(row.idHash)).toMatchObject({ kind: "RefreshToken", payload: row.payload, uid: "uid-1", expiresAt: row.expiresAt });
    await hot.consumePayload(row.idHash, new Date("2026-02-01T00:00:00.001Z"));
    await expect(hot.upsertPayload({ ...row, payload: { kind: "RefreshToken", scope: "openid email" }, expiresAt: null })).resolves.toBe(true);
    expect(await stored(row.idHash)).toMatchObject({
      payload: { scope: "openid email" },
      expiresAt: null,
      consumedAt: new Date("2026-02-01T00:00:00.001Z"),
    });
  });

  it("finds by id hash with times in UTC to the millisecond, as Prisma reads them", async () => {
    const row = rowOf();
    await hot.upsertPayload(row);
    await hot.consumePayload(row.idHash, new Date("2026-02-03T04:05:06.007Z"));
    const found = await hot.findPayloadByIdHash(row.idHash);
    expect(found).toEqual({
      idHash: row.idHash,
      kind: "RefreshToken",
      payload: row.payload,
      grantId: "grant-1",
      accountId: "account-1",
      expiresAt: new Date("2026-03-01T12:34:56.789Z"),
      consumedAt: new Date("2026-02-03T04:05:06.007Z"),
    });
    const viaPrisma = await stored(row.idHash);
    expect([found?.expiresAt, found?.consumedAt]).toEqual([viaPrisma?.expiresAt, viaPrisma?.consumedAt]);
    await expect(hot.findPayloadByIdHash("no-such-hash")).resolves.toBeNull();
  });

  it("consumes exactly once however many race", async () => {
    const row = rowOf();
    await hot.upsertPayload(row);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => hot.consumePayload(row.idHash, new Date())));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    await expect(hot.consumePayload("no-such-hash", new Date())).resolves.toBe(false);
  });

  it("rotates in one statement: the new tokens are written only by the one rotation that consumed the old", async () => {
    const old = rowOf({ grantId: "grant-rotate" });
    await hot.upsertPayload(old);
    const attempts = Array.from({ length: 20 }, () => ({
      refresh: rowOf({ grantId: "grant-rotate" }),
      access: rowOf({ kind: "AccessToken", grantId: "grant-rotate" }),
    }));
    const at = new Date("2026-02-05T00:00:00.123Z");
    const outcomes = await Promise.all(attempts.map(({ refresh, access }) => hot.rotateRefreshToken({ idHash: old.idHash, at }, refresh, access)));
    const winners = outcomes.flatMap((outcome, index) => (outcome.won ? [attempts[index]] : []));
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.won)).toEqual([{ won: true, replacedRefresh: false, replacedAccess: false }]);
    const family = await database.prisma.oidcPayload.findMany({ where: { grantId: "grant-rotate" }, orderBy: { idHash: "asc" } });
    expect(family.map((row) => row.idHash).sort()).toEqual([old.idHash, winners[0]?.refresh.idHash, winners[0]?.access.idHash].sort());
    expect((await stored(old.idHash))?.consumedAt).toEqual(at);
    expect(await stored(winners[0]?.access.idHash as string)).toMatchObject({ kind: "AccessToken", consumedAt: null });
  });

  it("rotates without an access token when none is given", async () => {
    const old = rowOf();
    const refresh = rowOf();
    await hot.upsertPayload(old);
    await expect(hot.rotateRefreshToken({ idHash: old.idHash, at: new Date() }, refresh, null)).resolves.toMatchObject({ won: true });
    expect(await stored(refresh.idHash)).toMatchObject({ consumedAt: null });
    await expect(hot.rotateRefreshToken({ idHash: old.idHash, at: new Date() }, rowOf(), null)).resolves.toEqual({ won: false });
  });

  it("revokes a grant family: every artifact under the grant and the grant itself, nothing else", async () => {
    const grant = rowOf({ kind: "Grant", grantId: null, idHash: "grant-hash-family" });
    const members = [rowOf({ grantId: "family" }), rowOf({ kind: "AccessToken", grantId: "family" })];
    const stranger = rowOf({ grantId: "other-family" });
    for (const row of [grant, ...members, stranger]) await hot.upsertPayload(row);
    await expect(hot.deleteGrantFamily("family", "grant-hash-family")).resolves.toBe(3);
    expect(await database.prisma.oidcPayload.count({ where: { idHash: { in: [grant.idHash, ...members.map((row) => row.idHash)] } } })).toBe(0);
    expect(await stored(stranger.idHash)).not.toBeNull();
  });

  it("replaces a row only while it exists and is unexpired (an interaction's result)", async () => {
    const row = rowOf({ kind: "Interaction", payload: { kind: "Interaction" }, expiresAt: new Date("2026-03-01T00:00:00Z") });
    await expect(hot.replacePayload(row, new Date("2026-02-01T00:00:00Z"))).resolves.toBe(false);
    expect(await stored(row.idHash)).toBeNull();
    await hot.upsertPayload(row);
    await expect(hot.replacePayload({ ...row, payload: { kind: "Interaction", result: {} } }, new Date("2026-02-01T00:00:00Z"))).resolves.toBe(true);
    expect((await stored(row.idHash))?.payload).toEqual({ kind: "Interaction", result: {} });
    await expect(hot.replacePayload(row, new Date("2026-03-01T00:00:01Z"))).resolves.toBe(false);
  });

  it("writes several rows in one statement, saying which upserts replaced a row", async () => {
    const [existing, fresh, doomed] = [rowOf(), rowOf(), rowOf()];
    await hot.upsertPayload(existing);
    await hot.upsertPayload(doomed);
    const outcome = await hot.writePayloads([
      { upsert: { ...existing, payload: { kind: "RefreshToken", scope: "email" } } },
      { upsert: fresh },
      { delete: doomed.idHash },
    ]);
    expect(outcome).toEqual({ ok: true, replaced: [true, false, false] });
    expect((await stored(existing.idHash))?.payload).toEqual({ kind: "RefreshToken", scope: "email" });
    expect(await stored(fresh.idHash)).not.toBeNull();
    expect(await stored(doomed.idHash)).toBeNull();
  });

  it("writes nothing at all when a guard row is gone, and everything when the guards are there", async () => {
    const [session, code, interaction] = [rowOf({ kind: "Session" }), rowOf({ kind: "AuthorizationCode" }), rowOf({ kind: "Interaction" })];
    await hot.upsertPayload(interaction);
    const writes = [{ upsert: code }, { delete: interaction.idHash }];
    await expect(hot.writePayloads(writes, [session.idHash, interaction.idHash])).resolves.toEqual({ ok: false, replaced: [false, false] });
    expect(await stored(code.idHash)).toBeNull();
    expect(await stored(interaction.idHash)).not.toBeNull();

    await hot.upsertPayload(session);
    await expect(hot.writePayloads(writes, [session.idHash, interaction.idHash])).resolves.toEqual({ ok: true, replaced: [false, false] });
    expect(await stored(code.idHash)).not.toBeNull();
    expect(await stored(interaction.idHash)).toBeNull();
  });

  it("deletes by id hash", async () => {
    const row = rowOf();
    await hot.upsertPayload(row);
    await expect(hot.deletePayloadByIdHash(row.idHash)).resolves.toBe(1);
    await expect(hot.deletePayloadByIdHash(row.idHash)).resolves.toBe(0);
    expect(await stored(row.idHash)).toBeNull();
  });

  it.runIf(kind === "postgres")("a process's listener skips its own notifications and hears the others'", async () => {
    const heard: Record<string, unknown[]> = { own: [], other: [] };
    const logger = createLogger("silent");
    const listen = (who: string, origin: string) =>
      listenForInvalidations(database.url as string, { onMessage: (message) => heard[who]?.push(message), onAvailability: () => {} }, logger, origin);
    const [own, other] = await Promise.all([listen("own", "this-process"), listen("other", "another-process")]);
    try {
      const row = rowOf();
      await hot.upsertPayload(row);
      await hot.deletePayloadByIdHash(row.idHash);
      await vi.waitFor(() => expect(heard.other).toEqual([{ idHash: row.idHash }]));
      expect(heard.own).toEqual([]);
    } finally {
      await Promise.all([own.close(), other.close()]);
    }
  });

  it.runIf(kind === "postgres")("notifies the other instances in the same statements, and only when something changed", async () => {
    const listener = new pg.Client({ connectionString: database.url as string });
    await listener.connect();
    const heard: unknown[] = [];
    listener.on("notification", (notification) => heard.push(JSON.parse(notification.payload ?? "")));
    await listener.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    try {
      const row = rowOf({ grantId: "notified" });
      await hot.upsertPayload(row);
      await hot.consumePayload(row.idHash, new Date());
      await hot.consumePayload(row.idHash, new Date()); // lost: nothing to tell
      const old = rowOf();
      await hot.upsertPayload(old);
      await hot.rotateRefreshToken({ idHash: old.idHash, at: new Date() }, rowOf(), rowOf());
      await hot.rotateRefreshToken({ idHash: old.idHash, at: new Date() }, rowOf(), rowOf()); // lost
      await hot.deletePayloadByIdHash(old.idHash);
      await hot.deleteGrantFamily("notified", "no-grant-row");
      // A round trip on the listener's connection after the last commit: every notification has arrived.
      await listener.query("SELECT 1");
      const from = "this-process";
      expect(heard).toEqual([
        { idHash: row.idHash, from },
        { idHash: old.idHash, from },
        { idHash: old.idHash, from },
        { grantId: "notified", from },
      ]);
    } finally {
      await listener.end();
    }
  });
});
