import type { CredentialInsert } from "./credentials.js";
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
      passwordHash?: string;
    }) =>
      db.$transaction(async (tx) => {
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
        if (input.passwordHash) await tx.user.update({ where: { id: input.userId }, data: { passwordHash: input.passwordHash } });
        // Whoever held the account's sessions and tokens (perhaps the reason for the recovery) is out, in the same commit.
        return (await deleteAccountArtifacts(tx, input.userId)).sessions;
      }),
  };
}

export type RecoveryQueries = ReturnType<typeof createRecoveryQueries>;
