import { hkdfSync } from "node:crypto";

export interface DerivedKeys {
  /** AES-256-GCM key for data at rest (private signing keys, TOTP secrets). */
  readonly dataKey: Buffer;
  /** Keys every cookie is signed with (oidc-provider's and the app's). */
  readonly cookieKeys: string[];
  /** HMAC key for low-entropy secrets stored as hashes (backup codes): a database dump alone cannot be brute-forced. */
  readonly hashKey: Buffer;
  /** HMAC key naming the accounts a device cookie has signed in to, so the cookie shows no address. */
  readonly deviceKey: Buffer;
}

// One root secret, independent keys per purpose (RFC 5869), so no key serves two jobs.
function derive(secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), `idp:${purpose}:v1`, 32));
}

export function deriveKeys(secret: Buffer): DerivedKeys {
  return Object.freeze({
    dataKey: derive(secret, "data"),
    cookieKeys: [derive(secret, "cookies").toString("base64url")],
    hashKey: derive(secret, "hash"),
    deviceKey: derive(secret, "device"),
  });
}
