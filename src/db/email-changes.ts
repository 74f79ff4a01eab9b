import { isUniqueViolation } from "../webauthn/passkey-service.js";
import type { Db } from "./open-database.js";

export type EmailChangeOutcome = { applied: { userId: string; oldEmail: string; newEmail: string } } | { unusable: true } | { taken: true };

export function createEmailChangeQueries(db: Db) {
  return {
    /** Stores a new change link; the user's earlier unused change links stop working. */
    replaceChangeLink: (link: { tokenHash: string; userId: string; email: string; expiresAt: Date }) =>
      db.$transaction([
        db.emailLink.deleteMany({ where: { purpose: "email_change", userId: link.userId, consumedAt: null } }),
        db.emailLink.create({ data: { ...link, purpose: "email_change", interactionUid: null } }),
      ]),

    /** The change waiting for its link to be used, if any. */
    findPendingChange: (userId: string, now: Date) =>
      db.emailLink.findFirst({
        where: { purpose: "email_change", userId, consumedAt: null, expiresAt: { gt: now } },
        orderBy: { createdAt: "desc" },
        select: { email: true, expiresAt: true },
      }),

    /** Makes every unused change link of the user stop working; how many there were. */
    cancelPendingChanges: async (userId: string, now: Date) =>
      (await db.emailLink.updateMany({ where: { purpose: "email_change", userId, consumedAt: null }, data: { consumedAt: now } })).count,

    /**
     * Uses the link up and moves the account to its address, in one transaction: a link works once
     * (a conditional update), and an address another account took meanwhile changes nothing.
     */
    async applyChange(tokenHash: string, now: Date): Promise<EmailChangeOutcome> {
      try {
        return await db.$transaction(async (tx) => {
          const consumed = await tx.emailLink.updateMany({
            where: { tokenHash, purpose: "email_change", consumedAt: null, expiresAt: { gt: now } },
            data: { consumedAt: now },
          });
          const link = consumed.count === 1 ? await tx.emailLink.findUnique({ where: { tokenHash } }) : null;
          const user = link ? await tx.user.findUnique({ where: { id: link.userId } }) : null;
          if (!link || !user || user.disabledAt) return { unusable: true } as const;
          await tx.user.update({ where: { id: user.id }, data: { email: link.email, emailVerified: true } });
          return { applied: { userId: user.id, oldEmail: user.email, newEmail: link.email } };
        });
      } catch (error) {
        if (isUniqueViolation(error)) return { taken: true };
        throw error;
      }
    },
  };
}

export type EmailChangeQueries = ReturnType<typeof createEmailChangeQueries>;
