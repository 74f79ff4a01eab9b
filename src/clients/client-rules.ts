import { ACR, isAcr } from "../auth/assurance.js";
import { assertThat, badRequest } from "../errors.js";
import { hasBidiControl } from "../http/input-text.js";
import { ADMIN_SCOPE } from "../oidc/scopes.js";
import { assertValidBackchannelUri } from "./backchannel-uri.js";
import type { ClientInput } from "./client-registry.js";
import { assertValidRedirectUri } from "./redirect-uri.js";

// What a client's registration may say: each check returns the value to store or throws an
// AppError naming the CLI flag (the admin API renames flags to its fields; the console names
// `fields.setting` as its form does and words the error from errors:<code>[_<context>] with the fields).

/**
 * An error about one setting: the CLI's message names the flag; `fields` lets other callers name it
 * their way and word it in their language (`context` picks the variant of the code's text, i18next `<code>_<context>`).
 */
const settingError = (code: string, setting: string, problem: string, fields: Record<string, string | number> = {}) =>
  badRequest(code, `${setting} ${problem}`, { setting, problem, ...fields });

export const ACCESS_TOKEN_FORMATS = ["opaque", "jwt"] as const;
export type AccessTokenFormat = (typeof ACCESS_TOKEN_FORMATS)[number];

export function assertAccessTokenFormat(value: string | null | undefined): AccessTokenFormat {
  if (value === null || value === undefined) return "opaque";
  assertThat(
    (ACCESS_TOKEN_FORMATS as readonly string[]).includes(value),
    settingError("clients.invalid_token_format", "--access-token-format", `must be ${ACCESS_TOKEN_FORMATS.join(" or ")} (got "${value.slice(0, 40)}")`, {
      allowed: ACCESS_TOKEN_FORMATS.join(", "),
      value: value.slice(0, 40),
    }),
  );
  return value as AccessTokenFormat;
}

export const ID_TOKEN_ALGS = ["ES256", "RS256"] as const;
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];

export function assertIdTokenAlg(value: string | null | undefined): IdTokenAlg | null {
  if (value === null || value === undefined || value === "default") return null;
  assertThat(
    (ID_TOKEN_ALGS as readonly string[]).includes(value),
    settingError("clients.invalid_id_token_alg", "--id-token-alg", `must be ${ID_TOKEN_ALGS.join(" or ")}, or default (got "${value.slice(0, 40)}")`, {
      allowed: ID_TOKEN_ALGS.join(", "),
      value: value.slice(0, 40),
    }),
  );
  return value as IdTokenAlg;
}

export function assertName(name: string | undefined): string {
  const trimmed = name?.trim() ?? "";
  assertThat(
    trimmed.length > 0 && trimmed.length <= 100,
    settingError("clients.invalid_name", "--name", "must be 1 to 100 characters", { context: "length", max: 100 }),
  );
  assertThat(
    !hasBidiControl(trimmed),
    settingError("clients.invalid_name", "--name", "cannot contain text-direction characters", { context: "text_direction" }),
  );
  return trimmed;
}

export function assertUris(uris: string[], setting: string): string[] {
  const unique = [...new Set(uris)];
  for (const uri of unique) assertValidRedirectUri(uri, setting);
  return unique;
}

/** "mfa" or "urn:idp:acr:mfa" → "urn:idp:acr:mfa"; "none"/null → null. */
export function assertAcr(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === "none") return null;
  const acr = (ACR as Record<string, string>)[value] ?? value;
  assertThat(
    isAcr(acr),
    settingError("clients.invalid_acr", "--minimum-acr", `must be one of ${Object.keys(ACR).join(", ")} or none (got "${value.slice(0, 40)}")`, {
      allowed: Object.keys(ACR).join(", "),
      value: value.slice(0, 40),
    }),
  );
  return acr;
}

export async function assertBackchannelUri(value: string | null | undefined, policy: ClientPolicy): Promise<string | null> {
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

export async function assertAllowedGroups(names: string[] | null | undefined, findGroups: FindGroupsByNames | undefined): Promise<string[]> {
  const wanted = [...new Set((names ?? []).map((name) => name.trim().toLowerCase()))];
  // A blank entry must not read as "no restriction": that would open the app to everyone.
  assertThat(
    !wanted.includes(""),
    badRequest("clients.unknown_group", "--allowed-groups: a group name cannot be blank", { setting: "--allowed-groups", context: "blank" }),
  );
  if (wanted.length === 0) return [];
  assertThat(
    wanted.length <= MAX_ALLOWED_GROUPS,
    settingError("clients.invalid_allowed_groups", "--allowed-groups", `names at most ${MAX_ALLOWED_GROUPS} groups`, { max: MAX_ALLOWED_GROUPS }),
  );
  const found = findGroups ? await findGroups(wanted.filter((name) => /^[\x21-\x7e]{1,64}$/.test(name))) : [];
  const missing = wanted.filter((name) => !found.some((group) => group.name === name));
  const missingNames = missing.map((name) => `"${name.slice(0, 64)}"`).join(", ");
  assertThat(
    missing.length === 0,
    badRequest("clients.unknown_group", `--allowed-groups: no group named ${missingNames} (create it with: groups create NAME)`, {
      setting: "--allowed-groups",
      context: "missing",
      names: missingNames,
    }),
  );
  return found.map((group) => group.id);
}

export const isGoneReference = (error: unknown) => ["P2003", "P2025"].includes((error as { code?: string }).code ?? "");

/** The range of a client's own access-token lifetime (`--access-token-ttl`). */
export const ACCESS_TOKEN_SECONDS = { min: 60, max: 86_400 };
export const MIN_REFRESH_TOKEN_SECONDS = 300;

/** Known scopes only; `admin` only for a confidential machine client (client_credentials, no user sign-in). */
export function assertScopes(scopes: string[] | null | undefined, grantTypes: string[], policy: ClientPolicy): string[] {
  const unique = [...new Set(scopes ?? [])];
  for (const scope of unique) {
    assertThat(
      policy.supportedScopes.includes(scope),
      badRequest("clients.invalid_scope", `--scopes: unknown scope "${scope.slice(0, 40)}" (known: ${policy.supportedScopes.join(", ")})`, {
        setting: "--scopes",
        context: "unknown",
        scope: scope.slice(0, 40),
        known: policy.supportedScopes.join(", "),
      }),
    );
  }
  if (unique.includes(ADMIN_SCOPE)) {
    assertThat(
      grantTypes.length === 1 && grantTypes[0] === "client_credentials",
      badRequest("clients.invalid_scope", `--scopes: "${ADMIN_SCOPE}" is only for a machine client (--client-credentials without redirect URIs)`, {
        setting: "--scopes",
        context: "admin_only",
        scope: ADMIN_SCOPE,
      }),
    );
  }
  return unique;
}

export function assertSeconds(value: number | null | undefined, setting: string, min: number, max: number): number | null {
  if (value === null || value === undefined) return null;
  assertThat(
    Number.isInteger(value) && value >= min && value <= max,
    settingError("clients.invalid_lifetime", setting, `must be a whole number of seconds from ${min} to ${max} (got ${value})`, { min, max, value }),
  );
  return value;
}

export function grantTypesFor(input: ClientInput): string[] {
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
