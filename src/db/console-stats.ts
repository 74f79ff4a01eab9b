import type { Db } from "./open-database.js";
import { utcTimestamp } from "./sql-time.js";

export interface AccountCounts {
  users: number;
  activeUsers: number;
  activeWithPasskey: number;
  apps: number;
}

export interface EventCount {
  type: string;
  outcome: string;
  /** The sign-in's `amr` or the reuse's token kind; "" for the others. */
  detail: string;
  count: number;
}

/** The console's overview figures: one statement for the accounts, one for the last day's security events. */
export function createConsoleStatQueries(db: Db) {
  return {
    countAccounts: async (): Promise<AccountCounts> => {
      const [row] = await db.$queryRaw<{ users: number; active_users: number; active_with_passkey: number; apps: number }[]>`
        SELECT
          (SELECT count(*) FROM "user")::int AS users,
          (SELECT count(*) FROM "user" WHERE "disabled_at" IS NULL)::int AS active_users,
          (SELECT count(*) FROM "user" u WHERE u."disabled_at" IS NULL
             AND EXISTS (SELECT 1 FROM "credential" c WHERE c."user_id" = u."id"))::int AS active_with_passkey,
          (SELECT count(*) FROM "client")::int AS apps`;
      return { users: row?.users ?? 0, activeUsers: row?.active_users ?? 0, activeWithPasskey: row?.active_with_passkey ?? 0, apps: row?.apps ?? 0 };
    },
    /** Sign-ins (by amr and outcome), lock-outs and refused token reuse (by kind) since `since`. */
    countSignInEvents: async (since: Date): Promise<EventCount[]> =>
      (
        await db.$queryRaw<{ type: string; outcome: string; detail: string; count: number }[]>`
        SELECT "type", "outcome", COALESCE("details"->>'amr', "details"->>'kind', '') AS detail, count(*)::int AS count
        FROM "security_event"
        WHERE "created_at" >= ${utcTimestamp(since)}
          AND "type" IN ('sign_in', 'sign_in.locked_out', 'mfa.locked_out', 'token.reuse_detected')
        GROUP BY 1, 2, 3`
      ).map((row) => ({ type: row.type, outcome: row.outcome, detail: row.detail, count: row.count })),
  };
}

export type ConsoleStatQueries = ReturnType<typeof createConsoleStatQueries>;
