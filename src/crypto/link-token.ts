import { randomBytes } from "node:crypto";
import { sha256 } from "./hash.js";

const SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * A mailed link's token: 256 bits from the CSPRNG, base64url. Only its hash is stored, so a
 * database dump holds no live link.
 */
export function newLinkToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: sha256(token) };
}

/** The stored hash of a token as it arrived (query or form), or null when it cannot be one of ours. */
export const linkTokenHash = (token: unknown): string | null => (typeof token === "string" && SHAPE.test(token) ? sha256(token) : null);
