import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { SignOutEverywhere } from "../auth/sign-out-everywhere.js";
import type { OperatorLoss, UserQueries, UserRow } from "../db/users.js";
import { assertThat, badRequest, conflict, notFound } from "../errors.js";
import type { SecondFactorService } from "../mfa/second-factor-service.js";
import { normaliseEmailOrNull } from "./email.js";
import { normaliseName, normaliseUsername, parseRole } from "./profile-rules.js";
import { toUserView, type UserView } from "./user-service.js";

export interface UserChanges {
  role?: string;
}

export interface UserPage {
  users: UserView[];
  total: number;
}

export const MAX_PAGE_SIZE = 200;

/** What `users update` may change; absent stays as it is, "" clears a name or a username. */
export interface ProfileChanges {
  name?: string;
  username?: string;
  role?: string;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "P2002";

export interface UserDetails extends UserView {
  passkeys: number;
  totp: boolean;
  backup_codes: number;
  /** Names of the groups the person is in. */
  groups: string[];
}

/**
 * What operators do to accounts (CLI now, the admin API later): look one up, disable or enable
 * it, delete it, sign it out everywhere. Every action signs out what must not outlive it and is
 * recorded as a security event. The last enabled operator cannot be demoted, disabled or deleted.
 * @throws AppError users.not_found, users.invalid_name, users.invalid_username, users.username_taken, users.invalid_role,
 *   users.last_operator, users.invalid_search
 */
export function createUserAdmin(deps: {
  users: UserQueries;
  secondFactors: SecondFactorService;
  signOutEverywhere: SignOutEverywhere;
  events: SecurityEventLog;
  groupsOf(userId: string): Promise<{ name: string }[]>;
}) {
  const { users, events } = deps;

  /** By id or by email address. */
  async function find(idOrEmail: string): Promise<UserRow> {
    const byId = await users.findUserById(idOrEmail);
    if (byId) return byId;
    const email = normaliseEmailOrNull(idOrEmail);
    const byEmail = email ? await users.findUserByEmail(email) : null;
    if (!byEmail) throw notFound("users.not_found", `no user with id or email "${idOrEmail}"`);
    return byEmail;
  }

  const record = (type: string, userId: string, details: Record<string, string> = {}) =>
    events.record({ type, outcome: "success", userId, details: { by: "operator", ...details } });

  /** An operator-ending change, refused for the last enabled operator (nobody could run the console after it). */
  async function guarded(user: UserRow, change: OperatorLoss): Promise<UserRow> {
    const result = await users.changeUnlessLastOperator(user.id, change);
    if (result === "not_found") throw notFound("users.not_found", `no user with id or email "${user.id}"`, { user: user.id });
    assertThat(
      result !== "last_operator",
      conflict("users.last_operator", `${user.email} is the last operator: make someone else an operator first`, { email: user.email }),
    );
    return result;
  }

  return {
    find,

    async show(idOrEmail: string): Promise<UserDetails> {
      const user = await find(idOrEmail);
      const [factors, groups] = await Promise.all([deps.secondFactors.factorsOf(user.id), deps.groupsOf(user.id)]);
      return {
        ...toUserView(user),
        passkeys: factors.passkeys,
        totp: factors.totp,
        backup_codes: factors.backupCodes,
        groups: groups.map((group) => group.name),
      };
    },

    /** One page of accounts whose email or name contains `search`. */
    async search(filter: { search?: string; offset?: number; limit?: number }): Promise<UserPage> {
      const search = filter.search?.trim() || undefined;
      const offset = filter.offset ?? 0;
      const limit = filter.limit ?? 50;
      assertThat(!search || search.length <= 254, badRequest("users.invalid_search", "the search text must be at most 254 characters", { max: 254 }));
      assertThat(Number.isInteger(offset) && offset >= 0, badRequest("users.invalid_search", "the offset must be a whole number", { field: "offset" }));
      assertThat(
        Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE,
        badRequest("users.invalid_search", `the page size must be from 1 to ${MAX_PAGE_SIZE}`, { field: "limit", max: MAX_PAGE_SIZE }),
      );
      const { rows, total } = await users.searchUsers({ search, offset, limit });
      return { users: rows.map(toUserView), total };
    },

    /** Name, username (`preferred_username`) and role; every value checked before anything is written. */
    async update(idOrEmail: string, changes: ProfileChanges): Promise<UserView> {
      const user = await find(idOrEmail);
      const data = {
        ...(changes.name !== undefined ? { name: normaliseName(changes.name) } : {}),
        ...(changes.username !== undefined ? { username: normaliseUsername(changes.username) } : {}),
        ...(changes.role !== undefined ? { role: parseRole(changes.role) } : {}),
      };
      let updated: UserRow;
      try {
        // Taking the role away goes through the last-operator guard, with the other changes in the same write.
        const demotes = data.role === "user" && user.role === "operator";
        updated = demotes ? await guarded(user, data) : await users.updateProfile(user.id, data);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict("users.username_taken", `the username "${data.username}" is taken`);
        throw error;
      }
      if (data.role !== undefined && data.role !== user.role)
        await events.record({ type: "user.role_changed", outcome: "success", userId: user.id, details: { by: "operator", role: data.role } });
      return toUserView(updated);
    },

    /** Disabled accounts cannot sign in, and lose their sessions and tokens at once. */
    async disable(idOrEmail: string): Promise<UserView> {
      const user = await find(idOrEmail);
      const updated = await guarded(user, { disabledAt: new Date() });
      await deps.signOutEverywhere(user.id);
      await record("user.disabled", user.id);
      return toUserView(updated);
    },

    async enable(idOrEmail: string): Promise<UserView> {
      const user = await find(idOrEmail);
      const updated = await users.setDisabled(user.id, null);
      await record("user.enabled", user.id);
      return toUserView(updated);
    },

    /** Deletes the account with its passkeys and factors, then its sessions, grants and tokens (unusable from then on: no account). */
    async delete(idOrEmail: string): Promise<UserView> {
      const user = await find(idOrEmail);
      // Deleted first, so a refused deletion (the last operator) leaves the account signed in as it was.
      await guarded(user, "delete");
      await deps.signOutEverywhere(user.id);
      await record("user.deleted", user.id);
      return toUserView(user);
    },

    /** `sessions revoke --user`: every session, grant and token of the account. */
    async signOut(idOrEmail: string): Promise<{ user: UserView; removed: number }> {
      const user = await find(idOrEmail);
      const removed = await deps.signOutEverywhere(user.id);
      await record("session.revoked_all", user.id);
      return { user: toUserView(user), removed };
    },
  };
}

export type UserAdmin = ReturnType<typeof createUserAdmin>;
