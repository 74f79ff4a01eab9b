import { createHmac, randomBytes } from "node:crypto";
import type { Context } from "koa";
import { constantTimeEqual } from "../crypto/hash.js";
import { normaliseEmailOrNull } from "../users/email.js";

// A handful: a shared family computer, not a list of every address ever typed.
const MAX_ACCOUNTS = 5;
const MAX_AGE_MS = 365 * 24 * 3600 * 1000;
const NONCE_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/**
 * OWASP "device cookies": a long-lived, signed cookie that only a successful password or passkey
 * sign-in sets, holding a random device nonce and, per account signed in to from this browser, a
 * keyed hash of nonce and address (the cookie shows no address and cannot be moved to another
 * nonce). The sign-in throttle gives such a browser its own allowance for those accounts, so an
 * attacker's failures cannot lock the owner out of a browser the owner already uses.
 */
export function createDeviceCookie(deps: { secureCookies: boolean; key: Buffer }) {
  const name = deps.secureCookies ? "__Host-device" : "idp_device";
  const options = { httpOnly: true, sameSite: "lax" as const, secure: deps.secureCookies, signed: true, path: "/", overwrite: true, maxAge: MAX_AGE_MS };
  const tagOf = (nonce: string, email: string) => createHmac("sha256", deps.key).update(`${nonce}:${email}`).digest("base64url").slice(0, 22);

  function read(ctx: Context): { nonce: string; tags: string[] } | null {
    // Verified against the app's cookie keys: a forged or unsigned cookie reads as none (an unknown device).
    const [nonce, ...tags] = (ctx.cookies.get(name, { signed: true }) ?? "").split(".");
    return nonce && NONCE_SHAPE.test(nonce) ? { nonce, tags: tags.slice(0, MAX_ACCOUNTS) } : null;
  }

  return {
    /** This browser's device id when it has signed in to the account of `rawEmail` before; otherwise null. */
    knownFor(ctx: Context, rawEmail: string): string | null {
      const device = read(ctx);
      const email = normaliseEmailOrNull(rawEmail);
      if (!device || !email) return null;
      const tag = tagOf(device.nonce, email);
      return device.tags.some((held) => constantTimeEqual(held, tag)) ? device.nonce : null;
    },

    /** After a verified sign-in: adds the account (its address) to this browser's cookie (newest first). */
    remember(ctx: Context, email: string): void {
      const device = read(ctx) ?? { nonce: randomBytes(16).toString("base64url"), tags: [] };
      const tag = tagOf(device.nonce, email);
      const tags = [tag, ...device.tags.filter((held) => held !== tag)].slice(0, MAX_ACCOUNTS);
      ctx.cookies.set(name, [device.nonce, ...tags].join("."), options);
    },
  };
}

export type DeviceCookie = ReturnType<typeof createDeviceCookie>;
