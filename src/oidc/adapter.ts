import type { Adapter, AdapterPayload } from "oidc-provider";
import Provider, { errors } from "oidc-provider";
import type { Invalidation } from "../cluster/invalidation-bus.js";
import { sha256 } from "../crypto/hash.js";
import type { Prisma } from "../db/generated/client.js";
import type { HotPayloadQueries } from "../db/hot-payloads.js";
import type { OidcPayloadQueries } from "../db/oidc-payloads.js";
import { idHashFor } from "./adapter-ids.js";
import type { CachedPayloadRow, PayloadCache } from "./payload-cache.js";
import type { Invalidator } from "./payload-invalidation.js";
import { createRequestWrites, type Write } from "./request-writes.js";

export { idHashFor };

export interface ClientMetadataSource {
  /** oidc-provider client metadata for a registered client, or undefined. */
  find(clientId: string): Promise<AdapterPayload | undefined>;
}

export interface AdapterDependencies {
  queries: OidcPayloadQueries;
  /** The token path's statements, on the driver; they NOTIFY the other processes themselves. */
  hot: HotPayloadQueries;
  clients: ClientMetadataSource;
  cache: PayloadCache;
  invalidate: Invalidator;
  /** Evicts in this process only: for the writes of `hot`, whose statements told the others. */
  evictHere: (message: Invalidation) => void;
  /**
   * This process is the database's only one (the embedded database): every write passes through
   * this cache, so the sign-in's interactions and sessions are cached too.
   */
  soleProcess?: boolean;
  /** A consumed refresh token or code was presented again (the grant is being revoked). */
  onReuse?: (kind: string, accountId: string | undefined) => void;
  now?: () => Date;
}

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

// Replay detection must see the database's truth (a jti first seen at another instance).
// Interactions and sessions are rewritten on nearly every hop of a sign-in, each possibly at another
// instance, whose next request may arrive before this one's eviction does: with other processes on
// the database, they are read from it every time.
const NEVER_CACHED = new Set(["ReplayDetection"]);
const SHARED_SIGN_IN_STATE = new Set(["Interaction", "Session"]);
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

const REUSABLE_ONCE = new Set(["RefreshToken", "AuthorizationCode"]);

/**
 * A refresh-token rotation held back until it can reach the database in one statement: oidc-provider's
 * refresh_token grant calls consume(old), then upsert(new RefreshToken), then upsert(AccessToken),
 * nothing else of the adapter in between (lib/actions/grants/refresh_token.js).
 */
interface PendingRotation {
  consumed: { idHash: string; at: Date };
  refresh: Write | null;
}

// The request being served, if it is a refresh_token grant (oidc-provider keeps its ctx in an AsyncLocalStorage).
function rotationRequest(): object | undefined {
  const ctx = Provider.ctx as { oidc?: { route?: string; params?: { grant_type?: unknown } } } | undefined;
  return ctx?.oidc?.route === "token" && ctx.oidc.params?.grant_type === "refresh_token" ? ctx : undefined;
}

/**
 * oidc-provider's storage contract: one table for every model, keyed by hash, expiry enforced on
 * every read (the sweep only reclaims space), reads served from a write-through cache. The token
 * path's statements run on the driver (`hot`); the rest through Prisma (`queries`).
 *
 * One round trip per refresh rotation: within a refresh_token grant, consume(old) only records the
 * old token and upsert(new refresh token) only records the row; upsert(access token) then sends
 * the three as one statement that writes the new tokens only if its consume won (hot-payloads.ts
 * `rotateRefreshToken`). The database still decides the consume atomically, and a loser still
 * revokes the grant, only at the access token's save instead of at consume: it throws invalid_grant
 * there, before any token it was minting has been stored or sent. Any other adapter call in that
 * request first sends what is pending, so the order of writes and reads is never changed; a request
 * that fails before its access token is saved has written nothing, and its old token stays usable
 * (the client was sent no new one).
 *
 * Within any other oidc-provider request, writes in a row go as one statement (request-writes.ts).
 */
export function createPrismaAdapterFactory({
  queries,
  hot,
  clients,
  cache,
  invalidate,
  evictHere,
  soleProcess = false,
  onReuse,
  now = () => new Date(),
}: AdapterDependencies) {
  const pendingRotations = new WeakMap<object, PendingRotation>();
  const uncached = (kind: string) => NEVER_CACHED.has(kind) || (!soleProcess && SHARED_SIGN_IN_STATE.has(kind));

  function load(row: CachedPayloadRow | null | undefined, jti?: string) {
    if (!row) return undefined;
    if (row.expiresAt && row.expiresAt <= now()) return undefined;
    const payload = copyOf(row.payload as AdapterPayload);
    if (jti !== undefined) payload.jti = jti;
    if (row.consumedAt) payload.consumed = epochSeconds(row.consumedAt);
    return payload;
  }

  async function read(kind: string, idHash: string): Promise<CachedPayloadRow | null> {
    if (uncached(kind)) return hot.findPayloadByIdHash(idHash);
    const cached = cache.get(idHash);
    if (cached !== undefined) return cached;
    const since = cache.generation;
    const row = await hot.findPayloadByIdHash(idHash);
    if (row || ABSENCE_CACHED.has(kind)) cache.set(idHash, row, since);
    return row;
  }

  // A new row (a fresh random id) is in no process's cache; a replaced one (a grant given more
  // scopes) may be, in every process that read it, and must not be served from there any more.
  async function written({ row, since }: Write, replaced: boolean): Promise<void> {
    if (uncached(row.kind)) return;
    // A replaced row keeps its consumed_at, which the written one does not carry; sign-in state is never consumed.
    if (replaced && !SHARED_SIGN_IN_STATE.has(row.kind)) await invalidate({ idHash: row.idHash });
    else cache.set(row.idHash, { ...row, consumedAt: null }, since);
  }

  const requestWrites = createRequestWrites({ hot, cache, written, evictHere: (idHash) => evictHere({ idHash }) });

  // RFC 9700 §4.14.2 / RFC 6749 §4.1.2: a second redemption (here: one that lost a race to the
  // first) revokes everything issued under the grant.
  async function lostConsume(kind: string, idHash: string): Promise<never> {
    // Nothing this request held back may outlive the revocation below.
    await requestWrites.flush(Provider.ctx);
    cache.delete(idHash);
    const row = await hot.findPayloadByIdHash(idHash);
    onReuse?.(kind, (row?.payload as { accountId?: string } | null)?.accountId);
    if (row?.grantId) {
      await hot.deleteGrantFamily(row.grantId, idHashFor("Grant", row.grantId));
      evictHere({ grantId: row.grantId });
    }
    throw new errors.InvalidGrant(`${kind === "RefreshToken" ? "refresh token" : "grant"} already used`);
  }

  async function consumeNow(kind: string, idHash: string, at: Date): Promise<void> {
    // The database decides, never the cache: exactly one caller wins, however many race.
    if (!(await hot.consumePayload(idHash, at))) return lostConsume(kind, idHash);
    // Other processes holding it unconsumed would still refuse it (their consume loses), but
    // would first hand it to oidc-provider as usable; the statement told them, this evicts here.
    evictHere({ idHash });
  }

  /** Sends the request's pending rotation, with `access` when that is what completes it. */
  async function settle(request: object | undefined, access: Write | null = null): Promise<void> {
    const rotation = request && pendingRotations.get(request);
    if (!request || !rotation) return;
    pendingRotations.delete(request);
    if (!rotation.refresh) return consumeNow("RefreshToken", rotation.consumed.idHash, rotation.consumed.at);
    // The rows are written now: an eviction before this statement cannot concern them, one during it may.
    const since = cache.generation;
    const outcome = await hot.rotateRefreshToken(rotation.consumed, rotation.refresh.row, access?.row ?? null);
    if (!outcome.won) return lostConsume("RefreshToken", rotation.consumed.idHash);
    // Filled before the old token's eviction, which would otherwise make these fills look stale.
    await written({ ...rotation.refresh, since }, outcome.replacedRefresh);
    if (access) await written({ ...access, since }, outcome.replacedAccess);
    evictHere({ idHash: rotation.consumed.idHash });
  }

  /** Everything the request holds back reaches the database before anything else it does. */
  async function settleAll(): Promise<void> {
    await settle(rotationRequest());
    await requestWrites.flush(Provider.ctx);
  }

  /** A read of one row sees what this request wrote to it. */
  async function settleFor(idHash: string): Promise<void> {
    await settle(rotationRequest());
    await requestWrites.flushFor(Provider.ctx, idHash);
  }

  /**
   * Called when oidc-provider has handled a request, before its answer is sent: what the request
   * held back is written now (a failure fails the answer; the code it was about to send, for one,
   * never leaves). Writes after this point are sent as they come.
   */
  async function endRequest(request: object): Promise<void> {
    await settle(pendingRotations.has(request) ? request : undefined);
    await requestWrites.end(request);
  }

  const adapterFor = (kind: string): Adapter => {
    if (kind === "Client") return clientAdapter(clients);

    return {
      async upsert(id, payload, expiresIn) {
        const write: Write = {
          row: {
            idHash: idHashFor(kind, id),
            kind,
            // Taken now: what the database stores is what the cache may serve.
            payload: copyOf(withoutSecrets(payload)),
            grantId: payload.grantId ?? null,
            accountId: payload.accountId ?? null,
            uid: kind === "Session" ? (payload.uid ?? null) : null,
            userCodeHash: payload.userCode ? sha256(payload.userCode) : null,
            expiresAt: expiresIn ? new Date(now().getTime() + expiresIn * 1000) : null,
          },
          since: cache.generation,
        };
        const request = rotationRequest();
        const rotation = request && pendingRotations.get(request);
        if (rotation && kind === "RefreshToken" && !rotation.refresh) {
          rotation.refresh = write;
          return;
        }
        if (rotation && kind === "AccessToken" && rotation.refresh) return settle(request, write);
        await settle(request);
        const current = Provider.ctx;
        if (current && SHARED_SIGN_IN_STATE.has(kind) && requestWrites.unchanged(current, write.row)) return;
        // An interaction gets its result only once it exists; one ended meanwhile (resumed, aborted,
        // expired) must stay ended, not be written anew with a sign-in in it.
        if (kind === "Interaction" && payload.result) {
          await requestWrites.flush(current);
          if (!(await hot.replacePayload(write.row, now()))) throw new errors.SessionNotFound("interaction session not found");
          return written(write, true);
        }
        if (current && (await requestWrites.hold(current, { upsert: write }))) return;
        await written(write, await hot.upsertPayload(write.row));
      },

      async find(id) {
        const idHash = idHashFor(kind, id);
        await settleFor(idHash);
        const row = await read(kind, idHash);
        const request = Provider.ctx;
        if (row && request && SHARED_SIGN_IN_STATE.has(kind)) requestWrites.found(request, idHash, row);
        const payload = load(row, id);
        // oidc-provider revokes the grant when it sees this; here it is counted and recorded.
        if (payload?.consumed && REUSABLE_ONCE.has(kind)) onReuse?.(kind, payload.accountId);
        return payload;
      },

      // The session id is not recoverable from its hash; callers of findByUid only read the session.
      async findByUid(uid) {
        await settleAll();
        return load(await queries.findByUid(kind, uid));
      },

      async findByUserCode(userCode) {
        await settleAll();
        return load(await queries.findByUserCodeHash(kind, sha256(userCode)));
      },

      async consume(id) {
        const idHash = idHashFor(kind, id);
        const request = rotationRequest();
        await settle(request);
        await settleFor(idHash);
        if (request && kind === "RefreshToken") {
          pendingRotations.set(request, { consumed: { idHash, at: now() }, refresh: null });
          return;
        }
        await consumeNow(kind, idHash, now());
      },

      async destroy(id) {
        await settle(rotationRequest());
        const idHash = idHashFor(kind, id);
        const request = Provider.ctx;
        if (request && (await requestWrites.hold(request, { delete: idHash }))) return;
        if (request) requestWrites.forget(request, idHash);
        await hot.deletePayloadByIdHash(idHash);
        evictHere({ idHash });
      },

      async revokeByGrantId(grantId) {
        await settleAll();
        await queries.deleteByGrantId(kind, grantId);
        await invalidate({ grantId, kind });
      },
    };
  };

  return Object.assign(adapterFor, { endRequest });
}
