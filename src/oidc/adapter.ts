import type { Adapter, AdapterPayload } from "oidc-provider";
import { errors } from "oidc-provider";
import { sha256 } from "../crypto/hash.js";
import type { Prisma } from "../db/generated/client.js";
import type { OidcPayloadQueries } from "../db/oidc-payloads.js";

export interface ClientMetadataSource {
  /** oidc-provider client metadata for a registered client, or undefined. */
  find(clientId: string): Promise<AdapterPayload | undefined>;
}

// Ids are bearer secrets (tokens, codes, session cookies): only their hash is stored,
// so a database dump cannot be replayed against the token endpoint or as a cookie.
export const idHashFor = (kind: string, id: string) => sha256(`${kind}:${id}`);

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

function withoutSecrets(payload: AdapterPayload): Prisma.InputJsonValue {
  const { jti: _jti, consumed: _consumed, ...rest } = payload;
  return rest as Prisma.InputJsonValue;
}

/**
 * oidc-provider's storage contract on Prisma: one table for every model, keyed by
 * hash, with expiry enforced on every read (the sweep only reclaims space).
 */
export function createPrismaAdapterFactory(queries: OidcPayloadQueries, clients: ClientMetadataSource, now = () => new Date()) {
  async function load(row: Awaited<ReturnType<OidcPayloadQueries["findByIdHash"]>>, jti?: string) {
    if (!row) return undefined;
    if (row.expiresAt && row.expiresAt <= now()) return undefined;
    const payload = { ...(row.payload as AdapterPayload) };
    if (jti !== undefined) payload.jti = jti;
    if (row.consumedAt) payload.consumed = epochSeconds(row.consumedAt);
    return payload;
  }

  return (kind: string): Adapter => {
    if (kind === "Client") {
      return {
        find: (id) => clients.find(id),
        upsert: async () => {
          throw new Error("clients are registered through the operator CLI");
        },
        findByUid: async () => undefined,
        findByUserCode: async () => undefined,
        consume: async () => {},
        destroy: async () => {},
        revokeByGrantId: async () => {},
      };
    }

    return {
      async upsert(id, payload, expiresIn) {
        await queries.upsert({
          idHash: idHashFor(kind, id),
          kind,
          payload: withoutSecrets(payload),
          grantId: payload.grantId ?? null,
          uid: kind === "Session" ? (payload.uid ?? null) : null,
          userCodeHash: payload.userCode ? sha256(payload.userCode) : null,
          expiresAt: expiresIn ? new Date(now().getTime() + expiresIn * 1000) : null,
        });
      },

      async find(id) {
        return load(await queries.findByIdHash(idHashFor(kind, id)), id);
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
        if (await queries.markConsumed(idHash, now())) return;
        // RFC 9700 §4.14.2 / RFC 6749 §4.1.2: a second redemption (here: one that lost a
        // race to the first) revokes everything issued under the grant.
        const row = await queries.findByIdHash(idHash);
        if (row?.grantId) await queries.deleteGrantFamily(row.grantId, idHashFor("Grant", row.grantId));
        throw new errors.InvalidGrant(`${kind === "RefreshToken" ? "refresh token" : "grant"} already used`);
      },

      async destroy(id) {
        await queries.deleteByIdHash(idHashFor(kind, id));
      },

      async revokeByGrantId(grantId) {
        await queries.deleteByGrantId(kind, grantId);
      },
    };
  };
}
