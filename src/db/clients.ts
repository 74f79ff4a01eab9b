import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

const include = { allowedGroups: { select: { group: { select: { id: true, name: true } } } } } satisfies Prisma.ClientInclude;

/** A client with the groups allowed to use it. */
export type ClientRow = Prisma.ClientGetPayload<{ include: typeof include }>;

export function createClientQueries(db: Db) {
  return {
    insertClient: (data: Prisma.ClientCreateInput) => db.client.create({ data, include }),
    findClientById: (id: string) => db.client.findUnique({ where: { id }, include }),
    listClients: () => db.client.findMany({ orderBy: { createdAt: "asc" }, include }),
    /** `allowedGroupIds` replaces the allowed groups in the same statement's transaction. @throws Prisma P2003/P2025 when a group is gone */
    updateClientById: (id: string, data: Prisma.ClientUpdateInput, allowedGroupIds?: string[]) =>
      db.client.update({
        where: { id },
        data: { ...data, ...(allowedGroupIds ? { allowedGroups: { deleteMany: {}, create: allowedGroupIds.map((groupId) => ({ groupId })) } } : {}) },
        include,
      }),
    async deleteClientById(id: string): Promise<boolean> {
      const { count } = await db.client.deleteMany({ where: { id } });
      return count === 1;
    },
    /** Artifacts (codes, tokens, grants) a client holds; removed with the client. */
    deleteArtifactsOfClient: (clientId: string) => db.oidcPayload.deleteMany({ where: { payload: { path: ["clientId"], equals: clientId } } }),
  };
}

export type ClientQueries = ReturnType<typeof createClientQueries>;
