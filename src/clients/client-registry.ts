import { randomBytes } from "node:crypto";
import type { AdapterPayload } from "oidc-provider";
import { sha256 } from "../crypto/hash.js";
import type { ClientQueries, ClientRow } from "../db/clients.js";
import { assertThat, badRequest, notFound } from "../errors.js";
import { defaultClientScopes } from "../oidc/scopes.js";
import { type AppPresentation, isDataLogo, presentationChanges } from "./app-presentation.js";
import { createClientCache } from "./client-cache.js";
import {
  ACCESS_TOKEN_SECONDS,
  type AccessTokenFormat,
  assertAccessTokenFormat,
  assertAcr,
  assertAllowedGroups,
  assertBackchannelUri,
  assertIdTokenAlg,
  assertName,
  assertScopes,
  assertSeconds,
  assertUris,
  type ClientPolicy,
  type FindGroupsByNames,
  grantTypesFor,
  type IdTokenAlg,
  isGoneReference,
  MIN_REFRESH_TOKEN_SECONDS,
} from "./client-rules.js";

export interface ClientInput {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /** Public clients (SPAs, native apps) have no secret and authenticate with PKCE alone. */
  public?: boolean;
  clientCredentials?: boolean;
  firstParty?: boolean;
  /** The lowest assurance level the client accepts: a short name (password, mfa, passkey) or the acr value. */
  minimumAcr?: string | null;
  /** OIDC Back-Channel Logout endpoint (https; http only on loopback). */
  backchannelLogoutUri?: string | null;
  /** Scopes it may ask for; empty or absent: every scope but `admin`. */
  scopes?: string[] | null;
  /** Token lifetimes in seconds; null or absent: the server's. */
  accessTokenSeconds?: number | null;
  refreshTokenSeconds?: number | null;
  /** Access tokens for a resource server: "opaque" (the default; null or absent) or "jwt" (RFC 9068). */
  accessTokenFormat?: string | null;
  /** Its ID tokens' algorithm, ES256 or RS256; null or absent: the server's. */
  idTokenAlg?: string | null;
  /** Names of the groups whose members may use it; empty, null or absent: everyone. */
  allowedGroups?: string[] | null;
  /** What the sign-in and consent pages show (app-presentation.ts); null, "" or absent: nothing. */
  clientUri?: string | null;
  logoUri?: string | null;
  policyUri?: string | null;
  tosUri?: string | null;
}

/**
 * What `update` may change: the fields of `ClientInput` but the client's type, each optional
 * (absent stays as it is); a null, "default", "none" or "" clears a setting as at creation.
 */
export type ClientChanges = Partial<Omit<ClientInput, "public" | "clientCredentials">>;

/** What operators see of a client; the secret appears only when it was just created. */
export interface ClientView {
  client_id: string;
  client_name: string;
  client_type: "confidential" | "public";
  token_endpoint_auth_method: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  first_party: boolean;
  minimum_acr: string | null;
  backchannel_logout_uri: string | null;
  /** Null: every scope but `admin`. */
  scopes: string[] | null;
  access_token_ttl: number | null;
  refresh_token_ttl: number | null;
  /** How its access tokens for a resource server (RESOURCE_SERVERS) are issued. */
  access_token_format: AccessTokenFormat;
  /** Null: the server's (idTokenSigningAlg). */
  id_token_alg: IdTokenAlg | null;
  /** Groups whose members may use it (names); empty: everyone. */
  allowed_groups: string[];
  /** RFC 7591 §2: its home page, logo (https or a data URL), privacy policy and terms of service. */
  client_uri: string | null;
  logo_uri: string | null;
  policy_uri: string | null;
  tos_uri: string | null;
  created_at: string;
  updated_at: string;
  client_secret?: string;
}

/** 128 random bits; never starting with "-", which the CLI would read as a flag (`clients update -x…`). */
export function newClientId(random: (size: number) => Buffer = randomBytes): string {
  const id = random(16).toString("base64url");
  return id.startsWith("-") ? newClientId(random) : id;
}
const newClientSecret = () => randomBytes(32).toString("base64url");

export function toClientView(row: ClientRow, clientSecret?: string): ClientView {
  return {
    client_id: row.id,
    client_name: row.name,
    client_type: row.tokenEndpointAuthMethod === "none" ? "public" : "confidential",
    token_endpoint_auth_method: row.tokenEndpointAuthMethod,
    redirect_uris: row.redirectUris,
    post_logout_redirect_uris: row.postLogoutRedirectUris,
    grant_types: row.grantTypes,
    first_party: row.firstParty,
    minimum_acr: row.minimumAcr,
    backchannel_logout_uri: row.backchannelLogoutUri,
    scopes: row.allowedScopes.length > 0 ? row.allowedScopes : null,
    access_token_ttl: row.accessTokenSeconds,
    refresh_token_ttl: row.refreshTokenSeconds,
    access_token_format: row.accessTokenFormat as AccessTokenFormat,
    id_token_alg: row.idTokenAlg as IdTokenAlg | null,
    allowed_groups: row.allowedGroups.map(({ group }) => group.name).sort(),
    client_uri: row.clientUri,
    logo_uri: row.logoUri,
    policy_uri: row.policyUri,
    tos_uri: row.tosUri,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    ...(clientSecret ? { client_secret: clientSecret } : {}),
  };
}

/** The metadata oidc-provider validates and serves the client with. */
function toProviderMetadata(row: ClientRow, defaultScopes: readonly string[]): AdapterPayload {
  const usesCode = row.grantTypes.includes("authorization_code");
  return {
    // Always a list: a client without one could ask for every scope, `admin` included.
    scope: (row.allowedScopes.length > 0 ? row.allowedScopes : defaultScopes).join(" "),
    ...(row.accessTokenSeconds ? { idp_access_token_seconds: row.accessTokenSeconds } : {}),
    ...(row.refreshTokenSeconds ? { idp_refresh_token_seconds: row.refreshTokenSeconds } : {}),
    ...(row.accessTokenFormat === "jwt" ? { idp_access_token_format: "jwt" } : {}),
    ...(row.idTokenAlg ? { id_token_signed_response_alg: row.idTokenAlg as AdapterPayload["id_token_signed_response_alg"] } : {}),
    client_id: row.id,
    client_name: row.name,
    ...(row.secretHash ? { client_secret: row.secretHash } : {}),
    token_endpoint_auth_method: row.tokenEndpointAuthMethod as AdapterPayload["token_endpoint_auth_method"],
    grant_types: row.grantTypes,
    response_types: usesCode ? ["code"] : [],
    redirect_uris: row.redirectUris,
    post_logout_redirect_uris: row.postLogoutRedirectUris,
    idp_first_party: row.firstParty,
    ...(row.minimumAcr ? { idp_minimum_acr: row.minimumAcr } : {}),
    ...(row.allowedGroups.length > 0 ? { idp_allowed_groups: row.allowedGroups.map(({ group }) => group.id) } : {}),
    // The logout token names the session (sid), so the relying party ends exactly that one.
    ...(row.backchannelLogoutUri ? { backchannel_logout_uri: row.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
    ...presentationMetadata(row),
  };
}

/**
 * The standard client_uri, logo_uri, policy_uri and tos_uri (oidc-provider's `client.clientUri`…).
 * oidc-provider accepts only web URLs there, so an inline logo travels as `idp_logo_data_uri`.
 */
function presentationMetadata(row: AppPresentation): AdapterPayload {
  return {
    ...(row.clientUri ? { client_uri: row.clientUri } : {}),
    ...(row.logoUri ? (isDataLogo(row.logoUri) ? { idp_logo_data_uri: row.logoUri } : { logo_uri: row.logoUri }) : {}),
    ...(row.policyUri ? { policy_uri: row.policyUri } : {}),
    ...(row.tosUri ? { tos_uri: row.tosUri } : {}),
  };
}

/**
 * Operator-facing client management, and the client lookup oidc-provider uses.
 * Lookups are cached for `cacheSeconds`; every change is announced (`changed`), and whichever
 * process hears it (this one included) drops its copy (`forget`), so a rotated secret, a removed
 * scope or redirect URI or a deleted client stops working everywhere at once.
 * @throws AppError clients.* for invalid input, clients.not_found for unknown ids
 */
export function createClientRegistry(
  queries: ClientQueries,
  options: {
    cacheSeconds: number;
    now?: () => number;
    /** A client's registration changed or went: tell every process (this one included) to `forget` it. */
    changed?: (clientId: string) => Promise<void>;
    /** The client's grants and tokens were deleted (the client itself, or its scopes narrowed). */
    onDeleted?: (clientId: string) => Promise<void>;
    /** Clients defined in code (the account pages), found before the database. */
    builtIn?: readonly AdapterPayload[];
    policy: ClientPolicy;
    findGroupsByNames?: FindGroupsByNames;
  },
) {
  const { policy } = options;
  const defaultScopes = defaultClientScopes(policy.supportedScopes);
  const accessSeconds = (value: number | null | undefined) => assertSeconds(value, "--access-token-ttl", ACCESS_TOKEN_SECONDS.min, ACCESS_TOKEN_SECONDS.max);
  const refreshSeconds = (value: number | null | undefined) =>
    assertSeconds(value, "--refresh-token-ttl", MIN_REFRESH_TOKEN_SECONDS, policy.maxRefreshTokenSeconds);
  const cache = createClientCache({ cacheSeconds: options.cacheSeconds, now: options.now });
  const announce = async (id: string) => {
    cache.forget(id);
    await options.changed?.(id);
  };

  // A group deleted between the name lookup and the write: the write fails whole, nothing changes.
  const groupGone = () =>
    badRequest("clients.unknown_group", "--allowed-groups: a group was deleted meanwhile; try again", { setting: "--allowed-groups", context: "deleted" });
  async function insert(data: Parameters<ClientQueries["insertClient"]>[0]): Promise<ClientRow> {
    try {
      return await queries.insertClient(data);
    } catch (error) {
      if (isGoneReference(error)) throw groupGone();
      throw error;
    }
  }
  async function update(id: string, data: Parameters<ClientQueries["updateClientById"]>[1], allowedGroupIds?: string[]): Promise<ClientRow> {
    try {
      return await queries.updateClientById(id, data, allowedGroupIds);
    } catch (error) {
      if (isGoneReference(error)) throw (await queries.findClientById(id)) ? groupGone() : notFound("clients.not_found", `no client with id "${id}"`, { id });
      throw error;
    }
  }

  async function requireClient(id: string): Promise<ClientRow> {
    const row = await queries.findClientById(id);
    if (!row) throw notFound("clients.not_found", `no client with id "${id}"`, { id });
    return row;
  }

  return {
    async create(input: ClientInput): Promise<ClientView> {
      const name = assertName(input.name);
      const redirectUris = assertUris(input.redirectUris, "--redirect-uri");
      const postLogoutRedirectUris = assertUris(input.postLogoutRedirectUris ?? [], "--post-logout-redirect-uri");
      const grantTypes = grantTypesFor({ ...input, redirectUris });
      const secret = input.public ? undefined : newClientSecret();
      const allowedGroupIds = await assertAllowedGroups(input.allowedGroups, options.findGroupsByNames);
      const row = await insert({
        id: newClientId(),
        name,
        // Client secrets are 256-bit random values, so a plain SHA-256 is enough to make a dump useless.
        secretHash: secret ? sha256(secret) : null,
        tokenEndpointAuthMethod: input.public ? "none" : "client_secret_basic",
        redirectUris,
        postLogoutRedirectUris,
        grantTypes,
        firstParty: input.firstParty ?? false,
        minimumAcr: assertAcr(input.minimumAcr),
        backchannelLogoutUri: await assertBackchannelUri(input.backchannelLogoutUri, policy),
        allowedScopes: assertScopes(input.scopes, grantTypes, policy),
        accessTokenSeconds: accessSeconds(input.accessTokenSeconds),
        refreshTokenSeconds: refreshSeconds(input.refreshTokenSeconds),
        accessTokenFormat: assertAccessTokenFormat(input.accessTokenFormat),
        idTokenAlg: assertIdTokenAlg(input.idTokenAlg),
        allowedGroups: { create: allowedGroupIds.map((groupId) => ({ groupId })) },
        ...presentationChanges(input),
      });
      return toClientView(row, secret);
    },

    async list(): Promise<ClientView[]> {
      return (await queries.listClients()).map((row) => toClientView(row));
    },

    async show(id: string): Promise<ClientView> {
      return toClientView(await requireClient(id));
    },

    async update(id: string, changes: ClientChanges): Promise<ClientView> {
      const current = await requireClient(id);
      const redirectUris = changes.redirectUris ? assertUris(changes.redirectUris, "--redirect-uri") : undefined;
      if (redirectUris) {
        assertThat(
          redirectUris.length > 0 || !current.grantTypes.includes("authorization_code"),
          badRequest("clients.missing_redirect_uri", "a client using the authorization code flow needs at least one --redirect-uri"),
        );
      }
      const allowedGroupIds = changes.allowedGroups !== undefined ? await assertAllowedGroups(changes.allowedGroups, options.findGroupsByNames) : undefined;
      const row = await update(
        id,
        {
          ...(changes.name !== undefined ? { name: assertName(changes.name) } : {}),
          ...(redirectUris ? { redirectUris } : {}),
          ...(changes.postLogoutRedirectUris ? { postLogoutRedirectUris: assertUris(changes.postLogoutRedirectUris, "--post-logout-redirect-uri") } : {}),
          ...(changes.firstParty !== undefined ? { firstParty: changes.firstParty } : {}),
          ...(changes.minimumAcr !== undefined ? { minimumAcr: assertAcr(changes.minimumAcr) } : {}),
          ...(changes.backchannelLogoutUri !== undefined ? { backchannelLogoutUri: await assertBackchannelUri(changes.backchannelLogoutUri, policy) } : {}),
          ...(changes.scopes !== undefined ? { allowedScopes: assertScopes(changes.scopes, current.grantTypes, policy) } : {}),
          ...(changes.accessTokenSeconds !== undefined ? { accessTokenSeconds: accessSeconds(changes.accessTokenSeconds) } : {}),
          ...(changes.refreshTokenSeconds !== undefined ? { refreshTokenSeconds: refreshSeconds(changes.refreshTokenSeconds) } : {}),
          ...(changes.accessTokenFormat !== undefined ? { accessTokenFormat: assertAccessTokenFormat(changes.accessTokenFormat) } : {}),
          ...(changes.idTokenAlg !== undefined ? { idTokenAlg: assertIdTokenAlg(changes.idTokenAlg) } : {}),
          ...presentationChanges(changes),
        },
        allowedGroupIds,
      );
      // A grant holds the scopes it was given: refreshing it would go on issuing a scope the client
      // may no longer have. Narrowing revokes the client's grants and tokens (users consent again).
      const effective = (scopes: readonly string[]) => (scopes.length > 0 ? scopes : defaultScopes);
      const kept = new Set(effective(row.allowedScopes));
      if (effective(current.allowedScopes).some((scope) => !kept.has(scope))) {
        await queries.deleteArtifactsOfClient(id);
        await options.onDeleted?.(id);
      }
      await announce(id);
      return toClientView(row);
    },

    async rotateSecret(id: string): Promise<ClientView> {
      const current = await requireClient(id);
      assertThat(current.secretHash !== null, badRequest("clients.public_client", `client "${id}" is public and has no secret`, { id }));
      const secret = newClientSecret();
      const row = await update(id, { secretHash: sha256(secret) });
      // A leaked secret is why one rotates: the old one must stop working on every instance now.
      await announce(id);
      return toClientView(row, secret);
    },

    async delete(id: string): Promise<void> {
      await requireClient(id);
      await queries.deleteArtifactsOfClient(id);
      // Of several deletes at once, one deletes the row: the others answer not found (one audit record).
      if (!(await queries.deleteClientById(id))) throw notFound("clients.not_found", `no client with id "${id}"`, { id });
      await announce(id);
      await options.onDeleted?.(id);
    },

    /** For oidc-provider's adapter: the client's metadata, or undefined when unknown. */
    async find(id: string): Promise<AdapterPayload | undefined> {
      const builtIn = options.builtIn?.find((client) => client.client_id === id);
      if (builtIn) return builtIn;
      const hit = cache.get(id);
      if (hit) return hit.metadata;
      const since = cache.generation;
      const row = await queries.findClientById(id);
      const metadata = row ? toProviderMetadata(row, defaultScopes) : undefined;
      cache.keep(id, metadata, since);
      return metadata;
    },

    /** Another process (or this one) changed the client: the next lookup reads the database. */
    forget: cache.forget,

    /** Off while changes made elsewhere could go unheard. */
    setCaching: cache.setEnabled,
  };
}
