import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type ClientRow = Prisma.ClientGetPayload<object>;

export function createClientQueries(db: Db) {
  return {
    insertClient: (data: Prisma.ClientCreateInput) => db.client.create({ data }),
    findClientById: (id: string) => db.client.findUnique({ where: { id } }),
    listClients: () => db.client.findMany({ orderBy: { createdAt: "asc" } }),
    updateClientById: (id: string, data: Prisma.ClientUpdateInput) => db.client.update({ where: { id }, data }),
    async deleteClientById(id: string): Promise<boolean> {
      const { count } = await db.client.deleteMany({ where: { id } });
      return count === 1;
    },
    /** Artifacts (codes, tokens, grants) a client holds; removed with the client. */
    deleteArtifactsOfClient: (clientId: string) => db.oidcPayload.deleteMany({ where: { payload: { path: ["clientId"], equals: clientId } } }),
  };
}

export type ClientQueries = ReturnType<typeof createClientQueries>;
