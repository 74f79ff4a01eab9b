import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type CredentialRow = Prisma.CredentialGetPayload<object>;
export type CredentialInsert = Prisma.CredentialUncheckedCreateInput;

export function createCredentialQueries(db: Db) {
  return {
    insertCredential: (data: CredentialInsert) => db.credential.create({ data }),
    findCredentialById: (id: string) => db.credential.findUnique({ where: { id } }),
    listCredentialsOfUser: (userId: string) => db.credential.findMany({ where: { userId }, orderBy: { createdAt: "asc" } }),
    renameCredential: (userId: string, id: string, name: string) => db.credential.updateMany({ where: { id, userId }, data: { name } }),
    /**
     * Removes one of a user's passkeys unless it is their last way in (no other passkey and no
     * password). The user row is locked first, so two removals at once cannot both pass the check.
     */
    removeCredential: (userId: string, id: string): Promise<"removed" | "not_found" | "last_way_in"> =>
      db.$transaction(async (tx) => {
        const locked = await tx.$queryRaw<{ has_password: boolean }[]>`
          SELECT "password_hash" IS NOT NULL AS has_password FROM "user" WHERE "id" = ${userId} FOR UPDATE`;
        const owned = await tx.credential.findMany({ where: { userId }, select: { id: true } });
        if (!locked[0] || !owned.some((credential) => credential.id === id)) return "not_found";
        if (owned.length === 1 && !locked[0].has_password) return "last_way_in";
        await tx.credential.delete({ where: { id } });
        return "removed";
      }),
    /** Records a use; the counter only moves forward. */
    recordCredentialUse: (id: string, counter: number, backedUp: boolean, at: Date) =>
      db.credential.update({ where: { id }, data: { counter: BigInt(counter), backedUp, lastUsedAt: at } }),
  };
}

export type CredentialQueries = ReturnType<typeof createCredentialQueries>;
