import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export interface OidcPayloadRow {
  idHash: string;
  kind: string;
  payload: Prisma.InputJsonValue;
  grantId: string | null;
  uid: string | null;
  userCodeHash: string | null;
  expiresAt: Date | null;
}

export type StoredOidcPayload = Awaited<ReturnType<ReturnType<typeof createOidcPayloadQueries>["findByIdHash"]>>;

export function createOidcPayloadQueries(db: Db) {
  return {
    upsert(row: OidcPayloadRow) {
      const { idHash, ...fields } = row;
      return db.oidcPayload.upsert({ where: { idHash }, create: row, update: fields });
    },

    findByIdHash(idHash: string) {
      return db.oidcPayload.findUnique({ where: { idHash } });
    },

    findByUid(kind: string, uid: string) {
      return db.oidcPayload.findFirst({ where: { kind, uid } });
    },

    findByUserCodeHash(kind: string, userCodeHash: string) {
      return db.oidcPayload.findFirst({ where: { kind, userCodeHash } });
    },

    /** Atomic: true for exactly one caller, however many race (a conditional update). */
    async markConsumed(idHash: string, at: Date): Promise<boolean> {
      const { count } = await db.oidcPayload.updateMany({ where: { idHash, consumedAt: null }, data: { consumedAt: at } });
      return count === 1;
    },

    deleteByIdHash(idHash: string) {
      return db.oidcPayload.deleteMany({ where: { idHash } });
    },

    deleteByGrantId(kind: string, grantId: string) {
      return db.oidcPayload.deleteMany({ where: { kind, grantId } });
    },

    /** Every artifact issued under a grant, and the grant itself. */
    deleteGrantFamily(grantId: string, grantIdHash: string) {
      return db.oidcPayload.deleteMany({ where: { OR: [{ grantId }, { idHash: grantIdHash }] } });
    },

    deleteExpired(now: Date) {
      return db.oidcPayload.deleteMany({ where: { expiresAt: { lt: now } } });
    },
  };
}

export type OidcPayloadQueries = ReturnType<typeof createOidcPayloadQueries>;
