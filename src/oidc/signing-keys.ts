import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { open, seal } from "../crypto/secret-box.js";
import type { SigningKeyQueries, SigningKeyRow } from "../db/signing-keys.js";

export const SIGNING_ALGORITHMS = ["ES256", "RS256"] as const;

/**
 * How long a retired key stays published: at least as long as anything it signed may still be
 * presented. That is an ID token, and with resource servers configured also a JWT access token,
 * whose lifetime a client may set up to `maxClientAccessTokenSeconds` (a resource server that
 * cannot find the kid would refuse a token that has not expired).
 */
export function retiredKeyGraceSeconds(config: {
  retiredKeyGraceSeconds: number;
  resourceServers: readonly string[];
  ttl: { idTokenSeconds: number; accessTokenSeconds: number; clientCredentialsSeconds: number };
  maxClientAccessTokenSeconds: number;
}): number {
  const { ttl } = config;
  const jwtLifetimes = config.resourceServers.length > 0 ? [ttl.accessTokenSeconds, ttl.clientCredentialsSeconds, config.maxClientAccessTokenSeconds] : [];
  return Math.max(config.retiredKeyGraceSeconds, ttl.idTokenSeconds, ...jwtLifetimes);
}
type SigningAlg = (typeof SIGNING_ALGORITHMS)[number];

export interface SigningKeyView {
  kid: string;
  alg: string;
  /** pending: published, signs from `activates_at`; active: signs; retired: published, verify-only. */
  status: "pending" | "active" | "retired";
  created_at: string;
  activates_at: string;
  retired_at: string | null;
  published_until: string | null;
}

/** What the provider is built with, and when that must be looked at again. */
export interface KeySet {
  /** Private JWKs: the signing keys first; pending and retired ones restricted to verification. */
  jwks: JWK[];
  /** The next time a key starts signing, retires or leaves the set; null: no change scheduled. */
  nextChangeAt: Date | null;
}

async function generateKey(alg: SigningAlg) {
  const { privateKey } = alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  return { kid, alg, privateJwk: { ...jwk, kid, alg, use: "sig" }, publicJwk: { ...publicJwk, kid, alg, use: "sig" } };
}

/**
 * ID-token signing keys: created on first start, rotated by the operator, private parts encrypted
 * with the data key. A rotation publishes the new keys at once and signs with them only after
 * `publishDelaySeconds`, so relying parties have refetched the JWKS before meeting their `kid`;
 * the previous keys retire then and stay published (verify-only) for the grace period, so tokens
 * they signed keep verifying.
 */
export function createSigningKeyService(
  queries: SigningKeyQueries,
  options: { dataKey: Buffer; graceSeconds: number; publishDelaySeconds: number; now?: () => Date; announce?: () => Promise<void> },
) {
  const now = options.now ?? (() => new Date());
  const publishedUntil = (row: SigningKeyRow) => (row.retiredAt ? new Date(row.retiredAt.getTime() + options.graceSeconds * 1000) : null);
  const statusAt = (row: SigningKeyRow, at: Date): SigningKeyView["status"] =>
    row.retiredAt && row.retiredAt <= at ? "retired" : row.activatesAt > at ? "pending" : "active";

  async function replaceKeys(delaySeconds: number): Promise<void> {
    const generated = await Promise.all(SIGNING_ALGORITHMS.map(generateKey));
    await queries.replaceActiveKeys(
      generated.map((key) => ({
        kid: key.kid,
        alg: key.alg,
        publicJwk: key.publicJwk,
        // The key id is bound as associated data: a ciphertext moved to another row will not open.
        privateJwkEncrypted: seal(options.dataKey, JSON.stringify(key.privateJwk), `signing-key:${key.kid}`),
      })),
      new Date(now().getTime() + delaySeconds * 1000),
    );
  }

  async function list(): Promise<SigningKeyView[]> {
    const at = now();
    return (await queries.listSigningKeys()).map((row) => ({
      kid: row.kid,
      alg: row.alg,
      status: statusAt(row, at),
      created_at: row.createdAt.toISOString(),
      activates_at: row.activatesAt.toISOString(),
      retired_at: row.retiredAt?.toISOString() ?? null,
      published_until: publishedUntil(row)?.toISOString() ?? null,
    }));
  }

  return {
    list,

    /** New keys, published on every instance at once, signing after the publish delay. Returns them. */
    async rotate(): Promise<SigningKeyView[]> {
      // With no keys yet nothing signs and no relying party holds a JWKS: no reason to wait.
      const current = (await queries.listSigningKeys()).filter((row) => !row.retiredAt);
      await replaceKeys(current.length > 0 ? options.publishDelaySeconds : 0);
      await options.announce?.();
      return (await list()).filter((key) => key.retired_at === null);
    },

    /** Creates the first keys when there are none; they sign at once (nobody holds a JWKS yet). Returns true when it did. */
    async ensureKeys(): Promise<boolean> {
      const rows = await queries.listSigningKeys();
      const activeAlgs = new Set(rows.filter((row) => !row.retiredAt).map((row) => row.alg));
      if (SIGNING_ALGORITHMS.every((alg) => activeAlgs.has(alg))) return false;
      await replaceKeys(0);
      await options.announce?.();
      return true;
    },

    async loadKeySet(): Promise<KeySet> {
      const at = now();
      const rows = (await queries.listSigningKeys()).filter((row) => (publishedUntil(row)?.getTime() ?? Number.POSITIVE_INFINITY) > at.getTime());
      const signing = (row: SigningKeyRow) => statusAt(row, at) === "active";
      rows.sort((a, b) => Number(signing(b)) - Number(signing(a)));
      const changes = rows
        .flatMap((row) => [row.activatesAt, row.retiredAt, publishedUntil(row)])
        .filter((time): time is Date => time !== null && time > at)
        .sort((a, b) => a.getTime() - b.getTime());
      const jwks = rows.map((row) => {
        let jwk: JWK;
        try {
          jwk = JSON.parse(open(options.dataKey, row.privateJwkEncrypted, `signing-key:${row.kid}`)) as JWK;
        } catch {
          throw new Error(`signing key ${row.kid} cannot be decrypted: SECRET_KEY is not the one the keys were created with`);
        }
        return signing(row) ? jwk : { ...jwk, key_ops: ["verify"] };
      });
      return { jwks, nextChangeAt: changes[0] ?? null };
    },

    /** Drops retired keys whose grace period is over. */
    async pruneRetired(): Promise<number> {
      const { count } = await queries.deleteKeysRetiredBefore(new Date(now().getTime() - options.graceSeconds * 1000));
      return count;
    },
  };
}

export type SigningKeyService = ReturnType<typeof createSigningKeyService>;
