import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { open, seal } from "../crypto/secret-box.js";
import type { SigningKeyQueries, SigningKeyRow } from "../db/signing-keys.js";

export const SIGNING_ALGORITHMS = ["ES256", "RS256"] as const;
type SigningAlg = (typeof SIGNING_ALGORITHMS)[number];

export interface SigningKeyView {
  kid: string;
  alg: string;
  status: "active" | "retired";
  created_at: string;
  retired_at: string | null;
  published_until: string | null;
}

async function generateKey(alg: SigningAlg) {
  const { privateKey } = alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  return { kid, alg, privateJwk: { ...jwk, kid, alg, use: "sig" }, publicJwk: { ...publicJwk, kid, alg, use: "sig" } };
}

/**
 * ID-token signing keys: created on first start, rotated by the operator, private
 * parts encrypted with the data key. Retired keys stay published (verify-only) for
 * the grace period so tokens they signed keep verifying.
 */
export function createSigningKeyService(queries: SigningKeyQueries, options: { dataKey: Buffer; graceSeconds: number; now?: () => Date }) {
  const now = options.now ?? (() => new Date());
  const publishedUntil = (row: SigningKeyRow) => (row.retiredAt ? new Date(row.retiredAt.getTime() + options.graceSeconds * 1000) : null);

  async function rotate(): Promise<SigningKeyView[]> {
    const generated = await Promise.all(SIGNING_ALGORITHMS.map(generateKey));
    await queries.replaceActiveKeys(
      generated.map((key) => ({
        kid: key.kid,
        alg: key.alg,
        publicJwk: key.publicJwk,
        // The key id is bound as associated data: a ciphertext moved to another row will not open.
        privateJwkEncrypted: seal(options.dataKey, JSON.stringify(key.privateJwk), `signing-key:${key.kid}`),
      })),
      now(),
    );
    return (await list()).filter((key) => key.status === "active");
  }

  async function list(): Promise<SigningKeyView[]> {
    return (await queries.listSigningKeys()).map((row) => ({
      kid: row.kid,
      alg: row.alg,
      status: row.retiredAt ? "retired" : "active",
      created_at: row.createdAt.toISOString(),
      retired_at: row.retiredAt?.toISOString() ?? null,
      published_until: publishedUntil(row)?.toISOString() ?? null,
    }));
  }

  return {
    rotate,
    list,

    /** Creates the first keys when there are none. Returns true when it did. */
    async ensureKeys(): Promise<boolean> {
      const rows = await queries.listSigningKeys();
      const activeAlgs = new Set(rows.filter((row) => !row.retiredAt).map((row) => row.alg));
      if (SIGNING_ALGORITHMS.every((alg) => activeAlgs.has(alg))) return false;
      await rotate();
      return true;
    },

    /** Private JWKs for oidc-provider: active keys first; retired ones restricted to verification. */
    async loadPrivateJwks(): Promise<JWK[]> {
      const at = now();
      const rows = (await queries.listSigningKeys()).filter((row) => !row.retiredAt || (publishedUntil(row) ?? at) > at);
      rows.sort((a, b) => Number(a.retiredAt !== null) - Number(b.retiredAt !== null));
      return rows.map((row) => {
        let jwk: JWK;
        try {
          jwk = JSON.parse(open(options.dataKey, row.privateJwkEncrypted, `signing-key:${row.kid}`)) as JWK;
        } catch {
          throw new Error(`signing key ${row.kid} cannot be decrypted: SECRET_KEY is not the one the keys were created with`);
        }
        return row.retiredAt ? { ...jwk, key_ops: ["verify"] } : jwk;
      });
    },

    /** Drops retired keys whose grace period is over. */
    async pruneRetired(): Promise<number> {
      const { count } = await queries.deleteKeysRetiredBefore(new Date(now().getTime() - options.graceSeconds * 1000));
      return count;
    },
  };
}
