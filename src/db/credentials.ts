import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type CredentialRow = Prisma.CredentialGetPayload<object>;
export type CredentialInsert = Prisma.CredentialUncheckedCreateInput;

export function createCredentialQueries(db: Db) {
  return {
    insertCredential: (data: CredentialInsert) => db.credential.create({ data }),
    findCredentialById: (id: string) => db.credential.findUnique({ where: { id } }),
    listCredentialsOfUser: (userId: string) => db.credential.findMany({ where: { userId }, orderBy: { createdAt: "asc" } }),
    /** Records a use; the counter only moves forward. */
    recordCredentialUse: (id: string, counter: number, backedUp: boolean, at: Date) =>
      db.credential.update({ where: { id }, data: { counter: BigInt(counter), backedUp, lastUsedAt: at } }),
  };
}

export type CredentialQueries = ReturnType<typeof createCredentialQueries>;
