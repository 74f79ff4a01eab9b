import { randomBytes } from "node:crypto";
import type { AdapterPayload } from "oidc-provider";
import { ACR, isAcr } from "../auth/assurance.js";
import { sha256 } from "../crypto/hash.js";
import type { ClientQueries, ClientRow } from "../db/clients.js";
import { assertThat, badRequest, notFound } from "../errors.js";
import { ADMIN_SCOPE, defaultClientScopes } from "../oidc/scopes.js";
import { assertValidBackchannelUri } from "./backchannel-uri.js";
import { createClientCache } from "./client-cache.js";
import { assertValidRedirectUri } from "./redirect-uri.js";

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
}

export interface ClientChanges {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  firstParty?: boolean;
  /** null clears it. */
  minimumAcr?: string | null;
  /** null clears it. */
  backchannelLogoutUri?: string | null;
  /** null or empty: back to the default scopes. */
  scopes?: string[] | null;
  /** null: back to the server's lifetime. */
  accessTokenSeconds?: number | null;
  refreshTokenSeconds?: number | null;
  /** null: back to "opaque". */
  accessTokenFormat?: string | null;
  /** null: back to the server's. */
  idTokenAlg?: string | null;
  /** null or empty: everyone may use it again. */
  allowedGroups?: string[] | null;
}

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
  created_at: string;
  updated_at: string;
  client_secret?: string;
}

export const ACCESS_TOKEN_FORMATS = ["opaque", "jwt"] as const;
export type AccessTokenFormat = (typeof ACCESS_TOKEN_FORMATS)[number];

function assertAccessTokenFormat(value: string | null | undefined): AccessTokenFormat {
  if (value === null || value === undefined) return "opaque";
  assertThat(
    (ACCESS_TOKEN_FORMATS as readonly string[]).includes(value),
    settingError("clients.invalid_token_format", "--access-token-format", `must be ${ACCESS_TOKEN_FORMATS.join(" or ")} (got "${value.slice(0, 40)}")`),
  );
  return value as AccessTokenFormat;
}

export const ID_TOKEN_ALGS = ["ES256", "RS256"] as const;
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];

function assertIdTokenAlg(value: string | null | undefined): IdTokenAlg | null {
  if (value === null || value === undefined || value === "default") return null;
  assertThat(
    (ID_TOKEN_ALGS as readonly string[]).includes(value),
    settingError("clients.invalid_id_token_alg", "--id-token-alg", `must be ${ID_TOKEN_ALGS.join(" or ")}, or default (got "${value.slice(0, 40)}")`),
  );
  return value as IdTokenAlg;
}

/** An error about one setting: the CLI's message names the flag; `fields` lets other callers name it their way. */
const settingError = (code: string, setting: string, problem: string) => badRequest(code, `${setting} ${problem}`, { setting, problem });

const newClientId = () => randomBytes(16).toString("base64url");
const newClientSecret = () => randomBytes(32).toString("base64url");

function assertName(name: string | undefined): string {
  const trimmed = name?.trim() ?? "";
  assertThat(trimmed.length > 0 && trimmed.length <= 100, settingError("clients.invalid_name", "--name", "must be 1 to 100 characters"));
  return trimmed;
}

function assertUris(uris: string[], setting: string): string[] {
  const unique = [...new Set(uris)];
  for (const uri of unique) assertValidRedirectUri(uri, setting);
  return unique;
}

/** "mfa" or "urn:idp:acr:mfa" → "urn:idp:acr:mfa"; "none"/null → null. */
function assertAcr(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === "none") return null;
  const acr = (ACR as Record<string, string>)[value] ?? value;
  assertThat(
    isAcr(acr),
    settingError("clients.invalid_acr", "--minimum-acr", `must be one of ${Object.keys(ACR).join(", ")} or none (got "${value.slice(0, 40)}")`),
  );
  return acr;
}

async function assertBackchannelUri(value: string | null | undefined, policy: ClientPolicy): Promise<string | null> {
  if (value === null || value === undefined || value === "none") return null;
  return assertValidBackchannelUri(value, { publicOnly: policy.publicBackchannelHostsOnly });
}

export interface ClientPolicy {
  /** Every scope the provider knows (`admin` included). */
  supportedScopes: readonly string[];
  /** The longest refresh-token idle lifetime a client may get: the server's absolute lifetime. */
  maxRefreshTokenSeconds: number;
  /** Production: back-channel logout URIs only on hosts with public addresses. */
  publicBackchannelHostsOnly: boolean;
}

/** The groups' ids by name, for `--allowed-groups`; a name with no group is missing from the answer. */
export type FindGroupsByNames = (names: string[]) => Promise<{ id: string; name: string }[]>;

const MAX_ALLOWED_GROUPS = 50;

async function assertAllowedGroups(names: string[] | null | undefined, findGroups: FindGroupsByNames | undefined): Promise<string[]> {
  const wanted = [...new Set((names ?? []).map((name) => name.trim().toLowerCase()).filter(Boolean))];
  if (wanted.length === 0) return [];
  assertThat(
    wanted.length <= MAX_ALLOWED_GROUPS,
    settingError("clients.invalid_allowed_groups", "--allowed-groups", `names at most ${MAX_ALLOWED_GROUPS} groups`),
  );
  const found = findGroups ? await findGroups(wanted.filter((name) => /^[\x21-\x7e]{1,64}$/.test(name))) : [];
  const missing = wanted.filter((name) => !found.some((group) => group.name === name));
  assertThat(
    missing.length === 0,
    settingError(
      "clients.unknown_group",
      "--allowed-groups:",
      `no group named ${missing.map((name) => `"${name.slice(0, 64)}"`).join(", ")} (create it with: groups create NAME)`,
    ),
  );
  return found.map((group) => group.id);
}

const isGoneReference = (error: unknown) => ["P2003", "P2025"].includes((error as { code?: string }).code ?? "");

/** The range of a client's own access-token lifetime (`--access-token-ttl`). */
export const ACCESS_TOKEN_SECONDS = { min: 60, max: 86_400 };
const MIN_REFRESH_TOKEN_SECONDS = 300;

/** Known scopes only; `admin` only for a confidential machine client (client_credentials, no user sign-in). */
function assertScopes(scopes: string[] | null | undefined, grantTypes: string[], policy: ClientPolicy): string[] {
  const unique = [...new Set(scopes ?? [])];
  for (const scope of unique) {
    assertThat(
      policy.supportedScopes.includes(scope),
      settingError("clients.invalid_scope", "--scopes:", `unknown scope "${scope.slice(0, 40)}" (known: ${policy.supportedScopes.join(", ")})`),
    );
  }
  if (unique.includes(ADMIN_SCOPE)) {
    assertThat(
      grantTypes.length === 1 && grantTypes[0] === "client_credentials",
      settingError("clients.invalid_scope", "--scopes:", `"${ADMIN_SCOPE}" is only for a machine client (--client-credentials without redirect URIs)`),
    );
  }
  return unique;
}

function assertSeconds(value: number | null | undefined, setting: string, min: number, max: number): number | null {
  if (value === null || value === undefined) return null;
  assertThat(
    Number.isInteger(value) && value >= min && value <= max,
    settingError("clients.invalid_lifetime", setting, `must be a whole number of seconds from ${min} to ${max} (got ${value})`),
  );
  return value;
}

function grantTypesFor(input: ClientInput): string[] {
  const grants = input.redirectUris.length > 0 ? ["authorization_code", "refresh_token"] : [];
  if (input.clientCredentials) {
    assertThat(!input.public, badRequest("clients.invalid_grant", "public clients cannot use client_credentials (they have no secret)"));
    grants.push("client_credentials");
  }
  assertThat(
    grants.length > 0,
    badRequest("clients.missing_redirect_uri", "at least one --redirect-uri is required (or --client-credentials for a machine client)"),
  );
  return grants;
}

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
  const groupGone = () => badRequest("clients.unknown_group", "--allowed-groups: a group was deleted meanwhile; try again");
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
      if (isGoneReference(error)) throw (await queries.findClientById(id)) ? groupGone() : notFound("clients.not_found", `no client with id "${id}"`);
      throw error;
    }
  }

  async function requireClient(id: string): Promise<ClientRow> {
    const row = await queries.findClientById(id);
    if (!row) throw notFound("clients.not_found", `no client with id "${id}"`);
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
      assertThat(current.secretHash !== null, badRequest("clients.public_client", `client "${id}" is public and has no secret`));
      const secret = newClientSecret();
      const row = await update(id, { secretHash: sha256(secret) });
      // A leaked secret is why one rotates: the old one must stop working on every instance now.
      await announce(id);
      return toClientView(row, secret);
    },

    async delete(id: string): Promise<void> {
      await requireClient(id);
      await queries.deleteArtifactsOfClient(id);
      await queries.deleteClientById(id);
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
