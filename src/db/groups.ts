import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type GroupRow = Prisma.GroupGetPayload<object>;

const details = {
  members: { select: { user: { select: { id: true, email: true, name: true, username: true } } }, orderBy: { user: { email: "asc" } } },
  clients: { select: { client: { select: { id: true, name: true } } }, orderBy: { client: { name: "asc" } } },
  customClaims: { select: { name: true, value: true }, orderBy: { name: "asc" } },
} satisfies Prisma.GroupInclude;

export type GroupDetailsRow = Prisma.GroupGetPayload<{ include: typeof details }>;

/** The Prisma error codes the callers word: a taken name, and a group an app still names (restrict). */
export const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "P2002";
export const isMissingRow = (error: unknown) => (error as { code?: string }).code === "P2025";
export const isForeignKeyViolation = (error: unknown) => (error as { code?: string }).code === "P2003";

export function createGroupQueries(db: Db) {
  return {
    /** @throws Prisma P2002 when the name is taken */
    insertGroup: (name: string) => db.group.create({ data: { name } }),
    /** @throws Prisma P2002 when the name is taken, P2025 when the group is gone */
    renameGroup: (id: string, name: string) => db.group.update({ where: { id }, data: { name } }),
    findGroupByName: (name: string) => db.group.findUnique({ where: { name } }),
    findGroupsByNames: (names: string[]) => db.group.findMany({ where: { name: { in: names } } }),
    findGroupDetails: (id: string) => db.group.findUnique({ where: { id }, include: details }),
    listGroups: () => db.group.findMany({ orderBy: { name: "asc" }, include: { _count: { select: { members: true, clients: true } } } }),

    /**
     * The number deleted. The foreign key refuses while an app is restricted to the group (even one
     * restricted to it a moment ago by another request): deleting it would open the app to everyone.
     * @throws Prisma P2003 when an app is restricted to the group
     */
    deleteGroup: async (id: string) => (await db.group.deleteMany({ where: { id } })).count,

    /** The number added (0: was a member already). */
    async addMember(groupId: string, userId: string): Promise<number> {
      return db.$executeRaw`INSERT INTO group_member (group_id, user_id) VALUES (${groupId}, ${userId}) ON CONFLICT DO NOTHING`;
    },
    /** The number removed (0: was not a member). */
    removeMember: async (groupId: string, userId: string) => (await db.groupMember.deleteMany({ where: { groupId, userId } })).count,
    groupsOfUser: (userId: string) =>
      db.group.findMany({ where: { members: { some: { userId } } }, select: { id: true, name: true }, orderBy: { name: "asc" } }),
    /** Whether the user is in one of the groups (the check before an app restricted to them). */
    async isMemberOfAny(userId: string, groupIds: string[]): Promise<boolean> {
      return (await db.groupMember.count({ where: { userId, groupId: { in: groupIds } } })) > 0;
    },
  };
}

export type GroupQueries = ReturnType<typeof createGroupQueries>;
