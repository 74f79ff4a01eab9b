import { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export interface OidcPayloadRow {
  idHash: string;
  kind: string;
  payload: Prisma.InputJsonValue;
  grantId: string | null;
  uid: string | null;
  userCodeHash: string | null;
  expiresAt: Date | null;
}

/** A Date as a UTC `timestamp(3)` (how Prisma stores DateTime on PostgreSQL), or NULL. */
function utcTimestamp(date: Date | null): Prisma.Sql {
  return date === null ? Prisma.sql`NULL` : Prisma.sql`(to_timestamp(${date.getTime()}::double precision / 1000) AT TIME ZONE 'UTC')`;
}

export function createOidcPayloadQueries(db: Db) {
  return {
    /**
     * Insert or replace, in one statement. Raw SQL because this is the hottest write (every token
     * issued) and Prisma's upsert costs about twice the CPU (it sends the payload twice). Times go in
     * as epoch milliseconds so no driver time-zone handling can shift them. A replace never clears
     * `consumed_at`: nothing may un-consume an artifact.
     */
    async upsert(row: OidcPayloadRow): Promise<void> {
      await db.$executeRaw`
        INSERT INTO "oidc_payload" ("id_hash", "kind", "payload", "grant_id", "uid", "user_code_hash", "expires_at")
        VALUES (${row.idHash}, ${row.kind}, ${JSON.stringify(row.payload)}::jsonb, ${row.grantId}, ${row.uid}, ${row.userCodeHash},
                ${utcTimestamp(row.expiresAt)})
        ON CONFLICT ("id_hash") DO UPDATE SET
          "kind" = EXCLUDED."kind", "payload" = EXCLUDED."payload", "grant_id" = EXCLUDED."grant_id",
          "uid" = EXCLUDED."uid", "user_code_hash" = EXCLUDED."user_code_hash", "expires_at" = EXCLUDED."expires_at"`;
    },

    findByIdHash(idHash: string) {
      return db.oidcPayload.findUnique({ where: { idHash } });
    },

    findByUid(kind: string, uid: string) {
      return db.oidcPayload.findFirst({ where: { kind, uid } });
    },

    findByUserCodeHash(kind: string, userCodeHash: string) {
      return db.oidcPayload.findFirst({ where: { kind, userCodeHash } });
    },

    /** Atomic: true for exactly one caller, however many race (a conditional update). */
    async markConsumed(idHash: string, at: Date): Promise<boolean> {
      const count = await db.$executeRaw`
        UPDATE "oidc_payload" SET "consumed_at" = ${utcTimestamp(at)} WHERE "id_hash" = ${idHash} AND "consumed_at" IS NULL`;
      return count === 1;
    },

    deleteByIdHash(idHash: string) {
      return db.oidcPayload.deleteMany({ where: { idHash } });
    },

    deleteByGrantId(kind: string, grantId: string) {
      return db.oidcPayload.deleteMany({ where: { kind, grantId } });
    },

    /** Every artifact issued under a grant, and the grant itself. */
    deleteGrantFamily(grantId: string, grantIdHash: string) {
      return db.oidcPayload.deleteMany({ where: { OR: [{ grantId }, { idHash: grantIdHash }] } });
    },

    /** Signs an account out everywhere: its sessions, grants, codes and tokens all carry `accountId`. */
    async deleteEverythingOfAccount(accountId: string): Promise<number> {
      return db.$executeRaw`DELETE FROM "oidc_payload" WHERE "payload"->>'accountId' = ${accountId}`;
    },

    /**
     * Signs an account out of every session but one: the other sessions, and the codes and tokens
     * issued through them (each carries its `sessionUid`). Grants stay for the kept session's apps.
     */
    async deleteOtherSessionsOfAccount(accountId: string, keepSessionUid: string): Promise<number> {
      return db.$executeRaw`
        DELETE FROM "oidc_payload"
        WHERE "payload"->>'accountId' = ${accountId}
          AND (("kind" = 'Session' AND "uid" IS DISTINCT FROM ${keepSessionUid})
            OR ("kind" NOT IN ('Session', 'Grant') AND "payload"->>'sessionUid' IS DISTINCT FROM ${keepSessionUid}))`;
    },

    deleteExpired(now: Date) {
      return db.oidcPayload.deleteMany({ where: { expiresAt: { lt: now } } });
    },
  };
}

export type OidcPayloadQueries = ReturnType<typeof createOidcPayloadQueries>;
