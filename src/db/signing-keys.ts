import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type SigningKeyRow = Prisma.SigningKeyGetPayload<object>;

export function createSigningKeyQueries(db: Db) {
  return {
    listSigningKeys: () => db.signingKey.findMany({ orderBy: { createdAt: "desc" } }),
    /** Retires the current keys and adds their successors in one transaction. */
    replaceActiveKeys: (keys: Prisma.SigningKeyCreateManyInput[], at: Date) =>
      db.$transaction([db.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: at } }), db.signingKey.createMany({ data: keys })]),
    deleteKeysRetiredBefore: (cutoff: Date) => db.signingKey.deleteMany({ where: { retiredAt: { lt: cutoff } } }),
  };
}

export type SigningKeyQueries = ReturnType<typeof createSigningKeyQueries>;
