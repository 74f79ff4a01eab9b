import type { Invalidation } from "../cluster/invalidation-bus.js";
import type { OidcPayloadRow } from "./oidc-payloads.js";
import type { HotDriver } from "./open-database.js";
import { epochMsOf, utcTimestampOf } from "./sql-time.js";

/** The NOTIFY channel of cache invalidations (invalidation-channel.ts listens on it). */
export const INVALIDATION_CHANNEL = "idp_payload_invalidation";

/**
 * A NOTIFY payload: the message and the process it comes from (`origin`), so that the process's
 * listener can skip its own, already applied here: evicting again would only drop cache fills
 * under way (PayloadCache#generation) and cost a read each.
 */
export const notificationOf = (message: Invalidation, origin: string) => JSON.stringify({ ...message, from: origin });

/** A stored artifact as the adapter reads it. */
export interface HotPayloadRow {
  idHash: string;
  kind: string;
  payload: unknown;
  grantId: string | null;
  accountId: string | null;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

interface RawRow extends Omit<HotPayloadRow, "expiresAt" | "consumedAt"> {
  expiresAt: number | null;
  consumedAt: number | null;
}

const COLUMNS = `"id_hash" AS "idHash", "kind", "payload", "grant_id" AS "grantId", "account_id" AS "accountId",
  ${epochMsOf(`"expires_at"`)} AS "expiresAt", ${epochMsOf(`"consumed_at"`)} AS "consumedAt"`;

const INSERT_COLUMNS = `"id_hash", "kind", "payload", "grant_id", "account_id", "uid", "user_code_hash", "expires_at"`;

// A replace never clears `consumed_at`: nothing may un-consume an artifact.
const ON_CONFLICT = `ON CONFLICT ("id_hash") DO UPDATE SET
  "kind" = EXCLUDED."kind", "payload" = EXCLUDED."payload", "grant_id" = EXCLUDED."grant_id", "account_id" = EXCLUDED."account_id",
  "uid" = EXCLUDED."uid", "user_code_hash" = EXCLUDED."user_code_hash", "expires_at" = EXCLUDED."expires_at"`;

/** The eight values of a row, from placeholder `$first`; the payload goes as text (PGlite would encode a string bound to jsonb again). */
const rowValues = (first: number) => {
  const p = (offset: number) => `$${first + offset}`;
  return `${p(0)}::text, ${p(1)}::text, ${p(2)}::text::jsonb, ${p(3)}::text, ${p(4)}::text, ${p(5)}::text, ${p(6)}::text, ${utcTimestampOf(p(7))}`;
};

const rowParams = (row: OidcPayloadRow) => [
  row.idHash,
  row.kind,
  JSON.stringify(row.payload),
  row.grantId,
  row.accountId,
  row.uid,
  row.userCodeHash,
  row.expiresAt ? row.expiresAt.getTime() : null,
];

const toDate = (ms: number | null) => (ms === null ? null : new Date(Number(ms)));

/** What a rotation wrote, or that it lost (the old token was consumed already, or is gone). */
export type RotationOutcome = { won: false } | { won: true; replacedRefresh: boolean; replacedAccess: boolean };

/**
 * The statements of the token path (every token issued, read, consumed, revoked) on the driver
 * itself, as prepared statements: through Prisma's `$queryRaw` each cost about 2.5× the server CPU
 * (issue #13). On PostgreSQL, a write that invalidates cached copies NOTIFYs the other processes in
 * the same statement (`invalidation`), so it commits with the change and costs no round trip; the
 * caller still evicts in its own process. Times go in and out as UTC epoch milliseconds.
 */
export function createHotPayloadQueries(driver: HotDriver, origin: string) {
  // `SELECT pg_notify(…)` as the last column of a statement; the message is its last parameter.
  const notify = (param: number, when = "") =>
    driver.notifies ? `, (SELECT pg_notify('${INVALIDATION_CHANNEL}', $${param}::text)${when}) IS NULL AS "notified"` : "";
  const message = (invalidation: Invalidation) => (driver.notifies ? [notificationOf(invalidation, origin)] : []);

  /** Insert or replace; true when it replaced a row (then cached copies elsewhere are stale). */
  async function upsertPayload(row: OidcPayloadRow): Promise<boolean> {
    // xmax is 0 on a freshly inserted row version, the updating transaction's id on a replaced one.
    const [result] = await driver.query<{ inserted: boolean }>(
      "oidc_payload_upsert",
      `INSERT INTO "oidc_payload" (${INSERT_COLUMNS}) VALUES (${rowValues(1)}) ${ON_CONFLICT} RETURNING ("xmax" = 0) AS "inserted"`,
      rowParams(row),
    );
    return result?.inserted === false;
  }

  /** Notifies `{ idHash }`. */
  async function deletePayloadByIdHash(idHash: string): Promise<number> {
    const [result] = await driver.query<{ count: number }>(
      "oidc_payload_delete",
      `WITH gone AS (DELETE FROM "oidc_payload" WHERE "id_hash" = $1::text RETURNING 1)
       SELECT (SELECT count(*) FROM gone)::int AS "count"${notify(2)}`,
      [idHash, ...message({ idHash })],
    );
    return result?.count ?? 0;
  }

  return {
    upsertPayload,

    /**
     * Replaces a row that exists (not expired): false when it is gone, e.g. an interaction that
     * another request ended meanwhile. For kinds no process caches (it notifies no one).
     */
    async replacePayload(row: OidcPayloadRow, at: Date): Promise<boolean> {
      const [result] = await driver.query<{ replaced: boolean }>(
        "oidc_payload_replace",
        `WITH replaced AS (
           UPDATE "oidc_payload" SET ("kind", "payload", "grant_id", "account_id", "uid", "user_code_hash", "expires_at") =
             (SELECT $2::text, $3::text::jsonb, $4::text, $5::text, $6::text, $7::text, ${utcTimestampOf("$8")})
           WHERE "id_hash" = $1::text AND ("expires_at" IS NULL OR "expires_at" > ${utcTimestampOf("$9")}) RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM replaced) AS "replaced"`,
        [...rowParams(row), at.getTime()],
      );
      return result?.replaced === true;
    },

    async findPayloadByIdHash(idHash: string): Promise<HotPayloadRow | null> {
      const [row] = await driver.query<RawRow>("oidc_payload_find", `SELECT ${COLUMNS} FROM "oidc_payload" WHERE "id_hash" = $1::text`, [idHash]);
      return row ? { ...row, expiresAt: toDate(row.expiresAt), consumedAt: toDate(row.consumedAt) } : null;
    },

    /** Atomic: true for exactly one caller, however many race (a conditional update). Notifies `{ idHash }` when it wins. */
    async consumePayload(idHash: string, at: Date): Promise<boolean> {
      const [result] = await driver.query<{ won: boolean }>(
        "oidc_payload_consume",
        `WITH consumed AS (
           UPDATE "oidc_payload" SET "consumed_at" = ${utcTimestampOf("$2")} WHERE "id_hash" = $1::text AND "consumed_at" IS NULL RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM consumed) AS "won"${notify(3, " FROM consumed")}`,
        [idHash, at.getTime(), ...message({ idHash })],
      );
      return result?.won === true;
    },

    /**
     * A refresh-token rotation in one statement: consumes the old token and, only if this call won
     * the consume, stores the new refresh token and (when given) the access token. Concurrent calls
     * for one old token serialise on its row: the first to commit wins, the others' update finds
     * `consumed_at` set (PostgreSQL re-checks the condition on the committed row) and writes nothing.
     */
    async rotateRefreshToken(consumed: { idHash: string; at: Date }, refresh: OidcPayloadRow, access: OidcPayloadRow | null): Promise<RotationOutcome> {
      const insert = (name: string, first: number, guard: string) =>
        `${name} AS (
           INSERT INTO "oidc_payload" (${INSERT_COLUMNS}) SELECT ${rowValues(first)} WHERE EXISTS (SELECT 1 FROM consumed)${guard}
           ${ON_CONFLICT} RETURNING ("xmax" = 0) AS "inserted"
         )`;
      const [result] = await driver.query<{ won: boolean; replacedRefresh: boolean; replacedAccess: boolean }>(
        "oidc_payload_rotate",
        `WITH consumed AS (
           UPDATE "oidc_payload" SET "consumed_at" = ${utcTimestampOf("$2")} WHERE "id_hash" = $1::text AND "consumed_at" IS NULL RETURNING 1
         ), ${insert("refresh", 3, "")}, ${insert("access", 11, " AND $19::boolean")}
         SELECT EXISTS (SELECT 1 FROM consumed) AS "won",
                EXISTS (SELECT 1 FROM refresh WHERE NOT "inserted") AS "replacedRefresh",
                EXISTS (SELECT 1 FROM access WHERE NOT "inserted") AS "replacedAccess"${notify(20, " FROM consumed")}`,
        [
          consumed.idHash,
          consumed.at.getTime(),
          ...rowParams(refresh),
          ...(access ? rowParams(access) : [null, null, null, null, null, null, null, null]),
          access !== null,
          ...message({ idHash: consumed.idHash }),
        ],
      );
      if (!result?.won) return { won: false };
      return { won: true, replacedRefresh: result.replacedRefresh, replacedAccess: result.replacedAccess };
    },

    /**
     * Several writes as one statement (one data-modifying CTE each), all or none: `replaced[i]` is
     * true when upsert `i` replaced a row (as `upsertPayload`); each delete notifies `{ idHash }`.
     * At most one write per row (PostgreSQL cannot change a row twice in one statement). With
     * `guards`, rows that must still exist: they are locked first (a concurrent delete either
     * commits before, and then nothing is written, or waits for this statement), and `ok` is false,
     * with nothing written, when one of them is gone.
     */
    async writePayloads(
      writes: readonly ({ upsert: OidcPayloadRow } | { delete: string })[],
      guards: readonly string[] = [],
    ): Promise<{ ok: boolean; replaced: boolean[] }> {
      if (writes.length === 1 && guards.length === 0) {
        const [write] = writes as [{ upsert: OidcPayloadRow } | { delete: string }];
        if ("upsert" in write) return { ok: true, replaced: [await upsertPayload(write.upsert)] };
        await deletePayloadByIdHash(write.delete);
        return { ok: true, replaced: [false] };
      }
      const ctes: string[] = [];
      const values: unknown[] = [];
      let when = "";
      if (guards.length > 0) {
        values.push([...guards], guards.length);
        ctes.push(
          `guarded AS (SELECT "id_hash" FROM "oidc_payload" WHERE "id_hash" = ANY($1::text[]) FOR UPDATE)`,
          `guard AS (SELECT count(*) = $2::int AS "ok" FROM guarded)`,
        );
        when = ` AND (SELECT "ok" FROM guard)`;
      }
      // PostgreSQL runs every data-modifying CTE to completion, read or not.
      const columns: string[] = [guards.length > 0 ? `(SELECT "ok" FROM guard) AS "ok"` : `true AS "ok"`];
      for (const [i, write] of writes.entries()) {
        if ("upsert" in write) {
          ctes.push(
            `w${i} AS (INSERT INTO "oidc_payload" (${INSERT_COLUMNS}) SELECT ${rowValues(values.length + 1)} WHERE true${when} ${ON_CONFLICT} RETURNING ("xmax" = 0) AS "inserted")`,
          );
          values.push(...rowParams(write.upsert));
          columns.push(`EXISTS (SELECT 1 FROM w${i} WHERE NOT "inserted") AS "w${i}"`);
        } else {
          ctes.push(`w${i} AS (DELETE FROM "oidc_payload" WHERE "id_hash" = $${values.length + 1}::text${when} RETURNING 1)`);
          values.push(write.delete);
          if (driver.notifies) {
            values.push(...message({ idHash: write.delete }));
            columns.push(`(SELECT pg_notify('${INVALIDATION_CHANNEL}', $${values.length}::text)) IS NULL AS "n${i}"`);
          }
        }
      }
      // Named by its shape: a request makes few distinct sequences of writes.
      const shape = `${guards.length > 0 ? "g" : ""}${writes.map((write) => ("upsert" in write ? "u" : "d")).join("")}`;
      const [result] = await driver.query<Record<string, boolean>>(
        `oidc_payload_write_${shape}`,
        `WITH ${ctes.join(", ")} SELECT ${columns.join(", ")}`,
        values,
      );
      return { ok: result?.ok === true, replaced: writes.map((_, i) => result?.[`w${i}`] === true) };
    },

    /** Every artifact issued under a grant, and the grant itself (RFC 9700 §4.14.2); notifies `{ grantId }`. */
    async deleteGrantFamily(grantId: string, grantIdHash: string): Promise<number> {
      const [result] = await driver.query<{ count: number }>(
        "oidc_payload_delete_grant_family",
        `WITH gone AS (DELETE FROM "oidc_payload" WHERE "grant_id" = $1::text OR "id_hash" = $2::text RETURNING 1)
         SELECT (SELECT count(*) FROM gone)::int AS "count"${notify(3)}`,
        [grantId, grantIdHash, ...message({ grantId })],
      );
      return result?.count ?? 0;
    },

    deletePayloadByIdHash,
  };
}

export type HotPayloadQueries = ReturnType<typeof createHotPayloadQueries>;
