import type { Db } from "./open-database.js";

/** The database, or a transaction's client: an accepted code can commit with what it allows. */
export type TotpClient = Pick<Db, "totpFactor">;

/** TOTP authenticators and backup codes. */
export function createSecondFactorQueries(db: Db) {
  return {
    /** What the sign-in's next step depends on, in one statement: a confirmed TOTP, passkeys, unused backup codes. */
    async countFactors(userId: string): Promise<{ totp: boolean; passkeys: number; backupCodes: number }> {
      const [row] = await db.$queryRaw<{ totp: boolean; passkeys: number; backupCodes: number }[]>`
        SELECT EXISTS (SELECT 1 FROM "totp_factor" WHERE "user_id" = ${userId} AND "confirmed_at" IS NOT NULL) AS "totp",
               (SELECT count(*)::int FROM "credential" WHERE "user_id" = ${userId}) AS "passkeys",
               (SELECT count(*)::int FROM "backup_code" WHERE "user_id" = ${userId} AND "used_at" IS NULL) AS "backupCodes"`;
      return { totp: row?.totp === true, passkeys: row?.passkeys ?? 0, backupCodes: row?.backupCodes ?? 0 };
    },

    findTotp: (userId: string) => db.totpFactor.findUnique({ where: { userId } }),

    /**
     * Starts (or restarts) an enrolment at `at` (its expiry counts from there): an unconfirmed secret
     * replaces an earlier unconfirmed one, never a confirmed one.
     */
    async putPendingTotp(userId: string, secretEncrypted: string, at: Date): Promise<boolean> {
      const existing = await db.totpFactor.findUnique({ where: { userId } });
      if (existing?.confirmedAt) return false;
      await db.totpFactor.upsert({
        where: { userId },
        create: { userId, secretEncrypted, createdAt: at },
        update: { secretEncrypted, lastUsedStep: null, createdAt: at },
      });
      return true;
    },

    /**
     * Accepts a code's time step only when it is newer than the last accepted one (and, given
     * `secretEncrypted`, only for that secret): one conditional UPDATE, so two processes given the
     * same code cannot both accept it.
     */
    async acceptTotpStep(userId: string, step: number, confirm: boolean, client: TotpClient = db, secretEncrypted?: string): Promise<boolean> {
      const { count } = await client.totpFactor.updateMany({
        where: {
          userId,
          OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }],
          ...(confirm ? { confirmedAt: null } : { confirmedAt: { not: null } }),
          // A set-up restarted (in another tab) since the code was checked is not the one the code belongs to.
          ...(secretEncrypted ? { secretEncrypted } : {}),
        },
        data: { lastUsedStep: step, ...(confirm ? { confirmedAt: new Date() } : {}) },
      });
      return count === 1;
    },

    deleteTotp: (userId: string) => db.totpFactor.deleteMany({ where: { userId } }),

    /** The old codes stop working and the new ones start in one transaction. */
    replaceBackupCodes: (userId: string, codeHashes: string[]) =>
      db.$transaction([
        db.backupCode.deleteMany({ where: { userId } }),
        db.backupCode.createMany({ data: codeHashes.map((codeHash) => ({ userId, codeHash })) }),
      ]),

    /** Marks the code used; false when it is unknown, another user's, or already used (one conditional UPDATE). */
    async useBackupCode(userId: string, codeHash: string): Promise<boolean> {
      const { count } = await db.backupCode.updateMany({ where: { codeHash, userId, usedAt: null }, data: { usedAt: new Date() } });
      return count === 1;
    },

    countUnusedBackupCodes: (userId: string) => db.backupCode.count({ where: { userId, usedAt: null } }),
  };
}

export type SecondFactorQueries = ReturnType<typeof createSecondFactorQueries>;
