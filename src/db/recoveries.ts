import type { CredentialInsert } from "./credentials.js";
import type { EndedSession } from "./oidc-payloads.js";
import { deleteAccountArtifacts } from "./oidc-payloads.js";
import type { Db } from "./open-database.js";

export function createRecoveryQueries(db: Db) {
  return {
    /**
     * Uses the recovery link, adds the new passkey or sets the password, and signs the account out
     * everywhere: all or nothing, and only one of several concurrent uses wins. Null when the link
     * was used, cancelled, expired, is still in its waiting period, or (when `factorRequired`) the
     * second factor was not passed; else the sessions that were ended.
     */
    completeRecovery: (input: {
      tokenHash: string;
      userId: string;
      now: Date;
      factorRequired: boolean;
      credential?: CredentialInsert;
      /** A new password: `allowFirst` says whether an account without one may get one (signUp.passwords). */
      password?: { hash: string; allowFirst: boolean };
    }) =>
      db.$transaction(async (tx): Promise<EndedSession[] | null | "password_refused"> => {
        if (input.password) {
          // Checked again on the locked row (the lock removePassword takes): passkeys added or the password
          // removed while the new one was hashed must not end with a password recovery should not give.
          const [locked] = await tx.$queryRaw<{ has_password: boolean }[]>`
            SELECT "password_hash" IS NOT NULL AS has_password FROM "user" WHERE "id" = ${input.userId} FOR UPDATE`;
          const passkeys = await tx.credential.count({ where: { userId: input.userId } });
          if (!locked || passkeys > 0 || (!locked.has_password && !input.password.allowFirst)) return "password_refused";
        }
        const { count } = await tx.emailLink.updateMany({
          where: {
            tokenHash: input.tokenHash,
            userId: input.userId,
            purpose: "recovery",
            consumedAt: null,
            expiresAt: { gt: input.now },
            OR: [{ notBefore: null }, { notBefore: { lte: input.now } }],
            ...(input.factorRequired ? { factorVerifiedAt: { not: null } } : {}),
          },
          data: { consumedAt: input.now },
        });
        if (count !== 1) return null;
        if (input.credential) await tx.credential.create({ data: input.credential });
        if (input.password) await tx.user.update({ where: { id: input.userId }, data: { passwordHash: input.password.hash } });
        // Whoever held the account's sessions and tokens (perhaps the reason for the recovery) is out, in the same commit.
        return (await deleteAccountArtifacts(tx, input.userId)).sessions;
      }),
  };
}

export type RecoveryQueries = ReturnType<typeof createRecoveryQueries>;
