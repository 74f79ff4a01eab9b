import type { CredentialInsert } from "./credentials.js";
import type { Db } from "./open-database.js";

export function createSignUpQueries(db: Db) {
  return {
    /**
     * Uses the link and creates the account with its first passkey: all or nothing, and only one
     * of several concurrent uses of a link wins. False when the link was used or expired meanwhile.
     * @throws Prisma P2002 when the email or the credential id is taken (nothing is written)
     */
    createAccountFromLink: (input: { tokenHash: string; now: Date; user: { id: string; email: string; language: string }; credential: CredentialInsert }) =>
      db.$transaction(async (tx) => {
        const { count } = await tx.emailLink.updateMany({
          where: { tokenHash: input.tokenHash, consumedAt: null, expiresAt: { gt: input.now } },
          data: { consumedAt: input.now },
        });
        if (count !== 1) return false;
        // The link proved the address.
        await tx.user.create({ data: { id: input.user.id, email: input.user.email, language: input.user.language, emailVerified: true } });
        await tx.credential.create({ data: input.credential });
        return true;
      }),
  };
}

export type SignUpQueries = ReturnType<typeof createSignUpQueries>;
