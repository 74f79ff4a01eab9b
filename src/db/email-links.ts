import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type EmailLinkRow = Prisma.EmailLinkGetPayload<object>;
export type EmailLinkPurpose = "sign_up" | "invitation" | "recovery" | "email_change";

export function createEmailLinkQueries(db: Db) {
  return {
    /** Stores a new link; earlier unused links of the same purpose for the same address stop working. */
    replaceLink: (link: {
      tokenHash: string;
      purpose: EmailLinkPurpose;
      email: string;
      userId: string;
      interactionUid: string | null;
      expiresAt: Date;
      notBefore?: Date | null;
    }) =>
      db.$transaction([
        db.emailLink.deleteMany({ where: { purpose: link.purpose, email: link.email, consumedAt: null } }),
        db.emailLink.create({ data: link }),
      ]),

    /** The link when it exists, has one of the purposes, is unused and has not expired. */
    findUsableLink: (tokenHash: string, purposes: EmailLinkPurpose[], now: Date) =>
      db.emailLink.findFirst({ where: { tokenHash, purpose: { in: purposes }, consumedAt: null, expiresAt: { gt: now } } }),

    /** Recovery: the user passed their second factor on this link. */
    markFactorVerified: (tokenHash: string, at: Date) => db.emailLink.updateMany({ where: { tokenHash, consumedAt: null }, data: { factorVerifiedAt: at } }),

    cancelLink: (tokenHash: string, now: Date) => db.emailLink.updateMany({ where: { tokenHash, consumedAt: null }, data: { consumedAt: now } }),

    deleteExpired: (now: Date) => db.emailLink.deleteMany({ where: { expiresAt: { lt: now } } }),
  };
}

export type EmailLinkQueries = ReturnType<typeof createEmailLinkQueries>;
