import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export interface OidcPayloadRow {
  idHash: string;
  kind: string;
  payload: Prisma.InputJsonValue;
  grantId: string | null;
  accountId: string | null;
  uid: string | null;
  userCodeHash: string | null;
  expiresAt: Date | null;
}

/** A session that was ended: its uid, and the clients it signed in to with their `sid`. */
export interface EndedSession {
  uid: string;
  authorizations: Record<string, { sid?: string; grantId?: string }> | null;
}

const SIGN_OUT_PASSES = 4;

/**
 * Runs a sign-out's delete again, with a fresh snapshot, while the last run found something (at
 * least twice). oidc-provider gives a session a new id at every sign-in it completes: one committed
 * while a delete waited for the old row's lock is a row that delete's snapshot cannot see, so the
 * session would survive the sign-out under its new id (found by the red team of issue #13).
 */
/** One entry per session: a session caught under its old id and again under its new one is one sign-out. */
function bySession(sessions: EndedSession[]): EndedSession[] {
  const merged = new Map<string, EndedSession>();
  for (const { uid, authorizations } of sessions) {
    const earlier = merged.get(uid)?.authorizations;
    merged.set(uid, { uid, authorizations: earlier || authorizations ? { ...earlier, ...authorizations } : null });
  }
  return [...merged.values()];
}

async function inPasses<T>(pass: () => Promise<T[]>): Promise<T[]> {
  const all = await pass();
  for (let run = 1; run < SIGN_OUT_PASSES; run += 1) {
    const more = await pass();
    all.push(...more);
    if (more.length === 0) break;
  }
  return all;
}

/**
 * Deletes every session, grant, code and token of an account — with `client` a transaction's, so
 * the sign-out can commit together with what made it necessary (a recovery).
 */
export async function deleteAccountArtifacts(client: Pick<Db, "$queryRaw">, accountId: string): Promise<{ removed: number; sessions: EndedSession[] }> {
  const rows = await inPasses(
    () => client.$queryRaw<{ uid: string | null; authorizations: EndedSession["authorizations"] }[]>`
    WITH deleted AS (
      DELETE FROM "oidc_payload" WHERE "account_id" = ${accountId}
      RETURNING "kind", "uid", "payload"->'authorizations' AS authorizations
    )
    SELECT CASE WHEN "kind" = 'Session' THEN "uid" END AS uid, CASE WHEN "kind" = 'Session' THEN authorizations END AS authorizations
    FROM deleted`,
  );
  const sessions = bySession(rows.filter((row): row is EndedSession => row.uid !== null));
  return { removed: rows.length, sessions };
}

/** The rest of the oidc_payload statements; the token path's are in hot-payloads.ts. */
export function createOidcPayloadQueries(db: Db) {
  return {
    findByUid(kind: string, uid: string) {
      return db.oidcPayload.findFirst({ where: { kind, uid } });
    },

    findByUserCodeHash(kind: string, userCodeHash: string) {
      return db.oidcPayload.findFirst({ where: { kind, userCodeHash } });
    },

    deleteByGrantId(kind: string, grantId: string) {
      return db.oidcPayload.deleteMany({ where: { kind, grantId } });
    },

    /**
     * Signs an account out everywhere: its sessions, grants, codes and tokens all carry its account id.
     * Returns how many artifacts went, and the sessions (for back-channel logout).
     */
    deleteEverythingOfAccount: (accountId: string) => deleteAccountArtifacts(db, accountId),

    /** An account's live artifacts of one kind (its sessions, its grants), oldest first. */
    listOfAccount(kind: "Session" | "Grant", accountId: string, now: Date) {
      return db.oidcPayload.findMany({
        where: { kind, accountId, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
        orderBy: { createdAt: "asc" },
      });
    },

    /**
     * Ends sessions of an account (`only` that one, or all `except` one) and revokes what was issued
     * through them: the grants they hold (with every token of those grants) and any code or token
     * carrying their `sessionUid`. One statement, so nothing is left half-revoked. Returns the
     * ended sessions.
     */
    async endSessionsOfAccount(accountId: string, which: { only: string } | { except: string }): Promise<EndedSession[]> {
      const only = "only" in which ? which.only : null;
      const except = "except" in which ? which.except : null;
      return bySession(
        await inPasses(
          () => db.$queryRaw<EndedSession[]>`
        WITH ended AS (
          DELETE FROM "oidc_payload"
          WHERE "kind" = 'Session' AND "account_id" = ${accountId}
            AND (${only}::text IS NULL OR "uid" = ${only}) AND "uid" IS DISTINCT FROM ${except}
          RETURNING "uid", "payload"
        ), grants AS (
          SELECT authorization_.value->>'grantId' AS grant_id
          FROM ended, jsonb_each(COALESCE(ended."payload"->'authorizations', '{}'::jsonb)) AS authorization_
        ), issued AS (
          DELETE FROM "oidc_payload"
          WHERE "account_id" = ${accountId}
            AND ("grant_id" IN (SELECT grant_id FROM grants)
              OR ("kind" = 'Grant' AND "payload"->>'jti' IN (SELECT grant_id FROM grants))
              OR ("kind" NOT IN ('Session', 'Grant') AND "payload"->>'sessionUid' IN (SELECT "uid" FROM ended)))
          RETURNING 1
        )
        SELECT "uid", "payload"->'authorizations' AS authorizations FROM ended`,
        ),
      );
    },

    /** Revokes an account's grants to one client and every code and token under them; returns the grant ids. */
    async revokeGrantsOfAccountClient(accountId: string, clientId: string): Promise<string[]> {
      const revoked = await db.$queryRaw<{ grant_id: string }[]>`
        WITH revoked AS (
          DELETE FROM "oidc_payload"
          WHERE "kind" = 'Grant' AND "account_id" = ${accountId} AND "payload"->>'clientId' = ${clientId}
          RETURNING "payload"->>'jti' AS grant_id
        ), issued AS (
          DELETE FROM "oidc_payload" WHERE "grant_id" IN (SELECT grant_id FROM revoked) RETURNING 1
        )
        SELECT grant_id FROM revoked`;
      return revoked.map((row) => row.grant_id);
    },

    deleteExpired(now: Date) {
      return db.oidcPayload.deleteMany({ where: { expiresAt: { lt: now } } });
    },
  };
}

export type OidcPayloadQueries = ReturnType<typeof createOidcPayloadQueries>;
