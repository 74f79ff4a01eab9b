import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type UserRow = Prisma.UserGetPayload<object>;

const accountInclude = {
  groups: { select: { group: { select: { id: true, name: true, customClaims: { select: { name: true, value: true } } } } } },
  customClaims: { select: { name: true, value: true } },
} satisfies Prisma.UserInclude;

/** A user with their groups and the custom claims filed on them and on their groups: what tokens say about them. */
export type AccountRow = Prisma.UserGetPayload<{ include: typeof accountInclude }>;

export function createUserQueries(db: Db) {
  return {
    insertUser: (data: Prisma.UserCreateInput) => db.user.create({ data }),
    findUserById: (id: string) => db.user.findUnique({ where: { id } }),
    findAccountById: (id: string): Promise<AccountRow | null> => db.user.findUnique({ where: { id }, include: accountInclude }),
    findUserByEmail: (email: string) => db.user.findUnique({ where: { email } }),
    listUsers: () => db.user.findMany({ orderBy: { createdAt: "asc" } }),
    /** @throws Prisma P2002 when the username is taken */
    updateProfile: (id: string, data: { name?: string | null; username?: string | null; role?: string }) => db.user.update({ where: { id }, data }),
    setDisabled: (id: string, at: Date | null) => db.user.update({ where: { id }, data: { disabledAt: at } }),
    /** Passkeys and second factors go with it (cascade); email links too. Security events stay, for the record. */
    deleteUser: (id: string) => db.$transaction([db.emailLink.deleteMany({ where: { userId: id } }), db.user.delete({ where: { id } })]),
    snoozePasskeyPrompt: (id: string, until: Date) => db.user.update({ where: { id }, data: { passkeyPromptSnoozedUntil: until } }),
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;
