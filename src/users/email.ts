import { badRequest } from "../errors.js";

// Deliberately loose (one @, a dot in the domain, no spaces or control characters such as NUL,
// which PostgreSQL refuses in text): the verification mail is the real test.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it excludes.
const EMAIL_SHAPE = /^[^\s@\u0000-\u001f\u007f]+@[^\s@\u0000-\u001f\u007f]+\.[^\s@\u0000-\u001f\u007f]+$/;

/** Trimmed and lower-cased, so one address cannot be registered twice in different case. */
export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_SHAPE.test(email)) throw badRequest("users.invalid_email", `"${raw}" is not an email address`, { value: raw });
  return email;
}

/** The normalised address, or null for input that is not one (lookups that must not throw). */
export function normaliseEmailOrNull(raw: string): string | null {
  try {
    return normaliseEmail(raw);
  } catch {
    return null;
  }
}
