import type { Prisma } from "./generated/client.js";
import type { Db } from "./open-database.js";

export type UserRow = Prisma.UserGetPayload<object>;

/** A change that may end an account's being an operator: a profile change taking the role, disabling it, or deleting it. */
export type OperatorLoss = { name?: string | null; username?: string | null; role?: string } | { disabledAt: Date } | "delete";

function searchWhere(search: string | undefined): Prisma.UserWhereInput {
  if (!search) return {};
  // Prisma passes `contains` to LIKE as it is: its wildcards (and the escape character) must be text here.
  const text = search.replace(/[\\%_]/g, "\\$&");
  return { OR: [{ email: { contains: text, mode: "insensitive" } }, { name: { contains: text, mode: "insensitive" } }] };
}

/** The advisory lock key of the last-operator guard (any constant of ours; "oper" in ASCII). */
const LAST_OPERATOR_LOCK = 0x6f706572;

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
    /** One page of the accounts whose email or name contains `search` (any case), by email, and how many match in all. */
    searchUsers: async (filter: { search?: string; offset: number; limit: number }) => {
      const where = searchWhere(filter.search);
      const [rows, total] = await db.$transaction([
        db.user.findMany({ where, orderBy: { email: "asc" }, skip: filter.offset, take: filter.limit }),
        db.user.count({ where }),
      ]);
      return { rows, total };
    },
    findUsersByIds: (ids: string[]) => db.user.findMany({ where: { id: { in: ids } }, select: { id: true, email: true } }),
    /** @throws Prisma P2002 when the username is taken */
    updateProfile: (id: string, data: { name?: string | null; username?: string | null; role?: string }) => db.user.update({ where: { id }, data }),
    /**
     * Removes the password of an account that keeps two passkeys, or a passkey and an authenticator
     * app, under the user row's lock that passkey removals take too (neither can leave it no way in).
     */
    removePassword: (id: string): Promise<"removed" | "no_password" | "not_enough"> =>
      db.$transaction(async (tx) => {
        const [locked] = await tx.$queryRaw<{ has_password: boolean }[]>`
          SELECT "password_hash" IS NOT NULL AS has_password FROM "user" WHERE "id" = ${id} FOR UPDATE`;
        if (!locked?.has_password) return "no_password";
        const passkeys = await tx.credential.count({ where: { userId: id } });
        const totp = (await tx.totpFactor.count({ where: { userId: id, confirmedAt: { not: null } } })) > 0;
        if (passkeys < 2 && !(passkeys === 1 && totp)) return "not_enough";
        await tx.user.update({ where: { id }, data: { passwordHash: null } });
        return "removed";
      }),
    /**
     * A new password under the user row's lock, the one removePassword takes: "added" (the account had
     * none; only when `allowFirst`), "changed", or "refused". Decided on the row as it is then, so a
     * removal racing this cannot leave the caller telling the wrong story (issue #16 red team).
     */
    setPasswordHash: (id: string, passwordHash: string, allowFirst: boolean): Promise<"added" | "changed" | "refused"> =>
      db.$transaction(async (tx) => {
        const [locked] = await tx.$queryRaw<{ has_password: boolean }[]>`
          SELECT "password_hash" IS NOT NULL AS has_password FROM "user" WHERE "id" = ${id} FOR UPDATE`;
        if (!locked || (!locked.has_password && !allowFirst)) return "refused";
        await tx.user.update({ where: { id }, data: { passwordHash } });
        return locked.has_password ? "changed" : "added";
      }),
    setDisabled: (id: string, at: Date | null) => db.user.update({ where: { id }, data: { disabledAt: at } }),
    /** Passkeys and second factors go with it (cascade); email links too. Security events stay, for the record. */
    deleteUser: (id: string) => db.$transaction([db.emailLink.deleteMany({ where: { userId: id } }), db.user.delete({ where: { id } })]),
    /**
     * Demotes, disables or deletes an account unless it is the last enabled operator (the console
     * would have no one left to run it). One transaction-scoped advisory lock queues every such
     * change behind the others, so each counts what the ones before it left (row locks on the
     * operators' rows deadlocked under 50 parallel removals on PostgreSQL).
     */
    changeUnlessLastOperator: (id: string, change: OperatorLoss): Promise<UserRow | "not_found" | "last_operator"> =>
      db.$transaction(
        async (tx) => {
          await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${LAST_OPERATOR_LOCK}::bigint)`;
          const target = await tx.user.findUnique({ where: { id } });
          if (!target) return "not_found";
          const operators = await tx.user.findMany({ where: { role: "operator", disabledAt: null }, select: { id: true }, take: 2 });
          if (operators.length === 1 && operators[0]?.id === id) return "last_operator";
          if (change === "delete") {
            await tx.emailLink.deleteMany({ where: { userId: id } });
            await tx.user.delete({ where: { id } });
            return target;
          }
          return tx.user.update({ where: { id }, data: change });
        },
        // Queued behind each other, a burst of removals waits longer than Prisma's 2 s default for its turn.
        { maxWait: 15_000, timeout: 15_000 },
      ),
    /** Stores the language the user now uses; a no-op (no write) when it is already the stored one. */
    setLanguage: (id: string, language: string) =>
      db.user.updateMany({ where: { id, OR: [{ language: null }, { language: { not: language } }] }, data: { language } }),
    snoozePasskeyPrompt: (id: string, until: Date) => db.user.update({ where: { id }, data: { passkeyPromptSnoozedUntil: until } }),
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;
