import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type UserRow = Prisma.UserGetPayload<object>;

export function createUserQueries(db: Db) {
  return {
    insertUser: (data: Prisma.UserCreateInput) => db.user.create({ data }),
    findUserById: (id: string) => db.user.findUnique({ where: { id } }),
    findUserByEmail: (email: string) => db.user.findUnique({ where: { email } }),
    listUsers: () => db.user.findMany({ orderBy: { createdAt: "asc" } }),
    snoozePasskeyPrompt: (id: string, until: Date) => db.user.update({ where: { id }, data: { passkeyPromptSnoozedUntil: until } }),
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;
