import type { Adapter, AdapterPayload } from "oidc-provider";
import { errors } from "oidc-provider";
import { sha256 } from "../crypto/hash.js";
import type { Prisma } from "../db/generated/client.js";
import type { OidcPayloadQueries } from "../db/oidc-payloads.js";
import { idHashFor } from "./adapter-ids.js";
import type { CachedPayloadRow, PayloadCache } from "./payload-cache.js";
import type { Invalidator } from "./payload-invalidation.js";

export { idHashFor };

export interface ClientMetadataSource {
  /** oidc-provider client metadata for a registered client, or undefined. */
  find(clientId: string): Promise<AdapterPayload | undefined>;
}

export interface AdapterDependencies {
  queries: OidcPayloadQueries;
  clients: ClientMetadataSource;
  cache: PayloadCache;
  invalidate: Invalidator;
  /** A consumed refresh token or code was presented again (the grant is being revoked). */
  onReuse?: (kind: string, accountId: string | undefined) => void;
  now?: () => Date;
}

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

// Replay detection must see the database's truth (a jti first seen at another instance).
// Interactions and sessions are rewritten on nearly every hop of a sign-in, possibly each at another
// instance: caching them would cost a cross-instance eviction per request, to save one read.
const NEVER_CACHED = new Set(["ReplayDetection", "Interaction", "Session"]);
// Token values are random and exist under exactly one kind, so "not found" is final for them;
// introspection probes every kind, and remembering the misses saves those queries.
const ABSENCE_CACHED = new Set(["AccessToken", "RefreshToken", "ClientCredentials", "AuthorizationCode"]);

// What the cache holds and hands out are copies, as the database's would be: oidc-provider's models
// keep the nested objects of the payload they were built from or saved, and change them in place
// (Grant#addOIDCScope) before a save that may fail or never come.
const copyOf = <T>(json: T): T => JSON.parse(JSON.stringify(json));

function withoutSecrets(payload: AdapterPayload): Prisma.InputJsonValue {
  const { jti: _jti, consumed: _consumed, ...rest } = payload;
  return rest as Prisma.InputJsonValue;
}

const clientAdapter = (clients: ClientMetadataSource): Adapter => ({
  find: (id) => clients.find(id),
  upsert: async () => {
    throw new Error("clients are registered through the operator CLI");
  },
  findByUid: async () => undefined,
  findByUserCode: async () => undefined,
  consume: async () => {},
  destroy: async () => {},
  revokeByGrantId: async () => {},
});

/**
 * oidc-provider's storage contract on Prisma: one table for every model, keyed by hash, expiry
 * enforced on every read (the sweep only reclaims space), reads served from a write-through cache.
 */
const REUSABLE_ONCE = new Set(["RefreshToken", "AuthorizationCode"]);

export function createPrismaAdapterFactory({ queries, clients, cache, invalidate, onReuse, now = () => new Date() }: AdapterDependencies) {
  function load(row: CachedPayloadRow | null | undefined, jti?: string) {
    if (!row) return undefined;
    if (row.expiresAt && row.expiresAt <= now()) return undefined;
    const payload = copyOf(row.payload as AdapterPayload);
    if (jti !== undefined) payload.jti = jti;
    if (row.consumedAt) payload.consumed = epochSeconds(row.consumedAt);
    return payload;
  }

  async function read(kind: string, idHash: string): Promise<CachedPayloadRow | null> {
    if (NEVER_CACHED.has(kind)) return queries.findByIdHash(idHash);
    const cached = cache.get(idHash);
    if (cached !== undefined) return cached;
    const since = cache.generation;
    const row = await queries.findByIdHash(idHash);
    if (row || ABSENCE_CACHED.has(kind)) cache.set(idHash, row, since);
    return row;
  }

  return (kind: string): Adapter => {
    if (kind === "Client") return clientAdapter(clients);

    return {
      async upsert(id, payload, expiresIn) {
        const row = {
          idHash: idHashFor(kind, id),
          kind,
          // Taken now: what the database stores is what the cache may serve.
          payload: copyOf(withoutSecrets(payload)),
          grantId: payload.grantId ?? null,
          accountId: payload.accountId ?? null,
          uid: kind === "Session" ? (payload.uid ?? null) : null,
          userCodeHash: payload.userCode ? sha256(payload.userCode) : null,
          expiresAt: expiresIn ? new Date(now().getTime() + expiresIn * 1000) : null,
        };
        const since = cache.generation;
        const replaced = await queries.upsert(row);
        if (NEVER_CACHED.has(kind)) return;
        // A new row (a fresh random id) is in no process's cache; a replaced one (a grant given more
        // scopes) may be, in every process that read it, and must not be served from there any more.
        if (replaced) await invalidate({ idHash: row.idHash });
        else cache.set(row.idHash, { ...row, consumedAt: null }, since);
      },

      async find(id) {
        const payload = load(await read(kind, idHashFor(kind, id)), id);
        // oidc-provider revokes the grant when it sees this; here it is counted and recorded.
        if (payload?.consumed && REUSABLE_ONCE.has(kind)) onReuse?.(kind, payload.accountId);
        return payload;
      },

      // The session id is not recoverable from its hash; callers of findByUid only read the session.
      async findByUid(uid) {
        return load(await queries.findByUid(kind, uid));
      },

      async findByUserCode(userCode) {
        return load(await queries.findByUserCodeHash(kind, sha256(userCode)));
      },

      async consume(id) {
        const idHash = idHashFor(kind, id);
        // The database decides, never the cache: exactly one caller wins, however many race.
        const won = await queries.markConsumed(idHash, now());
        // Other processes holding it unconsumed would still refuse it (their consume loses), but
        // would first hand it to oidc-provider as usable; they must see the consumption.
        if (won) return invalidate({ idHash });
        cache.delete(idHash);
        // RFC 9700 §4.14.2 / RFC 6749 §4.1.2: a second redemption (here: one that lost a race
        // to the first) revokes everything issued under the grant.
        const row = await queries.findByIdHash(idHash);
        onReuse?.(kind, (row?.payload as { accountId?: string } | null)?.accountId);
        if (row?.grantId) {
          await queries.deleteGrantFamily(row.grantId, idHashFor("Grant", row.grantId));
          await invalidate({ grantId: row.grantId });
        }
        throw new errors.InvalidGrant(`${kind === "RefreshToken" ? "refresh token" : "grant"} already used`);
      },

      async destroy(id) {
        const idHash = idHashFor(kind, id);
        await queries.deleteByIdHash(idHash);
        await invalidate({ idHash });
      },

      async revokeByGrantId(grantId) {
        await queries.deleteByGrantId(kind, grantId);
        await invalidate({ grantId, kind });
      },
    };
  };
}
