import { badRequest } from "../errors.js";
import { hasBidiControl } from "../http/input-text.js";

export const ROLES = ["user", "operator"] as const;
export type Role = (typeof ROLES)[number];

// Lower case letters, digits and . _ - inside; no "@" so a username never reads as an email.
const USERNAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
const NAME_MAX = 200;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A username as stored (trimmed, lower case), or null for "none" (an empty value clears it).
 * @throws AppError users.invalid_username
 */
export function normaliseUsername(raw: string): string | null {
  const value = raw.trim().toLowerCase();
  if (value === "") return null;
  if (!USERNAME.test(value))
    throw badRequest(
      "users.invalid_username",
      `a username is 1 to 64 of a-z, 0-9, ".", "_" and "-", starting and ending with a letter or digit (got ${JSON.stringify(raw.slice(0, 80))})`,
    );
  return value;
}

/**
 * A display name as stored (trimmed), or null for "none".
 * @throws AppError users.invalid_name
 */
export function normaliseName(raw: string): string | null {
  const value = raw.trim();
  if (value === "") return null;
  if (value.length > NAME_MAX) throw badRequest("users.invalid_name", `a name is at most ${NAME_MAX} characters`);
  if (CONTROL.test(value) || LONE_SURROGATE.test(value) || hasBidiControl(value))
    throw badRequest("users.invalid_name", "a name cannot contain control or text-direction characters");
  return value;
}

/** @throws AppError users.invalid_role */
export function parseRole(raw: string): Role {
  if ((ROLES as readonly string[]).includes(raw)) return raw as Role;
  throw badRequest("users.invalid_role", `the role is one of ${ROLES.join(", ")} (got ${JSON.stringify(raw.slice(0, 40))})`);
}
