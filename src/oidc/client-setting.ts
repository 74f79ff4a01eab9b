import { rankOf } from "../auth/assurance.js";

/** Our settings among a client's metadata (client-registry.ts registers them with oidc-provider). */
export type ClientSettingName =
  | "idp_access_token_format"
  | "idp_access_token_seconds"
  | "idp_allowed_groups"
  | "idp_first_party"
  | "idp_logo_data_uri"
  | "idp_minimum_acr"
  | "idp_refresh_token_seconds";

/**
 * One of our settings on an oidc-provider Client, read from the property the Client keeps it in
 * (extra metadata keeps its name there): `Client#metadata()` rebuilds every property of the
 * client, snake-cased, on each call, a cost the token endpoint paid per request.
 */
export function clientSetting(client: object | undefined | null, name: ClientSettingName): unknown {
  return client ? (client as Record<string, unknown>)[name] : undefined;
}

/** The rank a sign-in to this client must reach whatever the request asks: the operator's global minimum or the client's own, the higher. */
export function minimumRankOf(client: object | undefined | null, globalMinimumAcr: string | null): number {
  return Math.max(rankOf(globalMinimumAcr ?? undefined), rankOf(clientSetting(client, "idp_minimum_acr") as string | undefined));
}
