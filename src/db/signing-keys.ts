import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type SigningKeyRow = Prisma.SigningKeyGetPayload<object>;

export function createSigningKeyQueries(db: Db) {
  return {
    listSigningKeys: () => db.signingKey.findMany({ orderBy: { createdAt: "desc" } }),
    /** Adds successors that sign from `activatesAt`, when the current keys retire; one transaction. */
    replaceActiveKeys: (keys: Omit<Prisma.SigningKeyCreateManyInput, "activatesAt">[], activatesAt: Date) =>
      db.$transaction([
        db.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: activatesAt } }),
        db.signingKey.createMany({ data: keys.map((key) => ({ ...key, activatesAt })) }),
      ]),
    deleteKeysRetiredBefore: (cutoff: Date) => db.signingKey.deleteMany({ where: { retiredAt: { lt: cutoff } } }),
  };
}

export type SigningKeyQueries = ReturnType<typeof createSigningKeyQueries>;
