import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type PasswordHasher } from "../crypto/password.js";
import type { UserQueries, UserRow } from "../db/users.js";
import { assertThat, badRequest, conflict } from "../errors.js";
import { normaliseEmail, normaliseEmailOrNull } from "./email.js";
import { normaliseName } from "./profile-rules.js";

export interface UserView {
  id: string;
  email: string;
  email_verified: boolean;
  name: string | null;
  username: string | null;
  role: string;
  has_password: boolean;
  disabled: boolean;
  created_at: string;
}

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    email_verified: row.emailVerified,
    name: row.name,
    username: row.username,
    role: row.role,
    has_password: row.passwordHash !== null,
    disabled: row.disabledAt !== null,
    created_at: row.createdAt.toISOString(),
  };
}

export function assertPasswordPolicy(password: string): void {
  // OWASP ASVS 5.0 V6.2: length is the rule; no composition rules.
  assertThat(
    password.length >= PASSWORD_MIN_LENGTH,
    badRequest("users.password_too_short", `the password must be at least ${PASSWORD_MIN_LENGTH} characters`, { min: PASSWORD_MIN_LENGTH }),
  );
  assertThat(
    password.length <= PASSWORD_MAX_LENGTH,
    badRequest("users.password_too_long", `the password must be at most ${PASSWORD_MAX_LENGTH} characters`, { max: PASSWORD_MAX_LENGTH }),
  );
}

/**
 * Accounts and password sign-in.
 * @throws AppError users.invalid_email, users.password_*, users.email_taken
 */
export function createUserService(queries: UserQueries, passwords: PasswordHasher, observe: { passwordChecked(): void }) {
  return {
    async create(input: { email: string; password?: string; name?: string }): Promise<UserView> {
      const email = normaliseEmail(input.email);
      if (input.password !== undefined) assertPasswordPolicy(input.password);
      assertThat(!(await queries.findUserByEmail(email)), conflict("users.email_taken", `a user with email ${email} already exists`));
      const row = await queries.insertUser({
        email,
        // Operators vouch for the address of users they create.
        emailVerified: true,
        name: input.name === undefined ? null : normaliseName(input.name),
        passwordHash: input.password !== undefined ? await passwords.hash(input.password) : null,
      });
      return toUserView(row);
    },

    /** A new password for the account: instead of the old one, or its first when `allowFirst`. @throws AppError users.password_* */
    async setPassword(id: string, password: string, options: { allowFirst: boolean }): Promise<"added" | "changed" | "refused"> {
      assertPasswordPolicy(password);
      return queries.setPasswordHash(id, await passwords.hash(password), options.allowFirst);
    },

    async list(): Promise<UserView[]> {
      return (await queries.listUsers()).map(toUserView);
    },

    /** The user id when email and password match an enabled account; null otherwise, in the same time. */
    async verifyPassword(rawEmail: string, password: string): Promise<string | null> {
      const email = normaliseEmailOrNull(rawEmail);
      const user = email ? await queries.findUserByEmail(email) : null;
      const ok = await passwords.verify(user?.passwordHash ?? null, password);
      observe.passwordChecked();
      return ok && user && !user.disabledAt ? user.id : null;
    },

    findById: (id: string) => queries.findUserById(id),
  };
}

export type UserService = ReturnType<typeof createUserService>;
