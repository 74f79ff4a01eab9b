import type { JWK } from "jose";
import type { Context } from "koa";
import Provider, { type Account, type Adapter, type Configuration, errors, type KoaContextWithOIDC } from "oidc-provider";
import { ACR_VALUES } from "../auth/assurance.js";
import type { Config } from "../config.js";
import { constantTimeEqual, sha256 } from "../crypto/hash.js";
import { clientAddress, proxyTrust } from "../http/client-address.js";
import { pinHrefToIssuer } from "../http/issuer-origin.js";
import { pageForUnknownPaths } from "../http/not-found-page.js";
import { explainOAuthError } from "../http/oauth-error-page.js";
import type { Views } from "../http/views.js";
import type { Logger } from "../logger.js";
import { createPublicOnlyFetch } from "../net/public-fetch.js";
import { type AppAccess, interactionPolicyWithAcr, reportRequestedAcr } from "./acr-policy.js";
import { type ClaimsConfiguration, restrictClaimsParameter } from "./claims-parameter.js";
import { clientSetting } from "./client-setting.js";
import { supportedScopes } from "./scopes.js";

export interface ProviderDependencies {
  config: Config;
  adapter: (kind: string) => Adapter;
  findAccount: (ctx: KoaContextWithOIDC | undefined, accountId: string, token?: unknown) => Promise<Account | undefined>;
  jwks: JWK[];
  cookieKeys: string[];
  views: Views;
  logger: Logger;
  /** Whether a silent re-authentication looks too different from the session's earlier use. */
  isRiskySilentRequest?: (ctx: KoaContextWithOIDC) => Promise<boolean>;
  /** Apps restricted to groups: who may use them, and the record of a refusal. */
  appAccess?: AppAccess;
  /** The passkey policy covers this sign-in (issue #16). */
  needsApprovedKey?: (ctx: KoaContextWithOIDC, userId: string) => Promise<boolean>;
}

const SIGNING_ALGS = ["ES256", "RS256"] as const;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

interface SessionTimes {
  loginTs?: number;
  transient?: boolean;
}

/**
 * Seconds a session lives from now (recomputed on every save, so activity extends it): an idle
 * timeout capped by an absolute one counted from sign-in; "Keep me signed in" (a persistent
 * cookie, not `transient`) trades the idle timeout for a longer absolute lifetime.
 */
export function sessionLifetime(
  ttl: { sessionIdleSeconds: number; sessionAbsoluteSeconds: number; keepSignedInSeconds: number },
  session: SessionTimes,
  now = Math.floor(Date.now() / 1000),
): number {
  if (!session.loginTs) return ttl.sessionIdleSeconds;
  // oidc-provider stores `transient: true` only for sessions the user did not ask to keep.
  const kept = session.transient !== true;
  const remaining = session.loginTs + (kept ? ttl.keepSignedInSeconds : ttl.sessionAbsoluteSeconds) - now;
  return Math.max(1, kept ? remaining : Math.min(ttl.sessionIdleSeconds, remaining));
}

/** A lifetime a client's metadata sets, or undefined. */
function clientSeconds(client: object | undefined, property: "idp_access_token_seconds" | "idp_refresh_token_seconds"): number | undefined {
  const value = clientSetting(client, property);
  return typeof value === "number" ? value : undefined;
}

/** Scopes no resource server token carries: `admin` is the admin API's own (opaque, revocable); the others are OIDC's. */
const NOT_FOR_RESOURCE_SERVERS = new Set(["admin", "openid", "offline_access"]);

/**
 * RFC 8707: a token for one of RESOURCE_SERVERS has it as its only audience and carries only scopes the
 * client may have; RFC 9068: a JWT, signed with the provider's keys, when the client's format is "jwt".
 * Anything else is `invalid_target`. Without `resource` nothing changes: opaque, no audience (userinfo).
 */
function resourceServerInfo(config: Config) {
  return async (_ctx: unknown, indicator: string, client: { scope?: string }) => {
    if (!config.resourceServers.includes(indicator)) throw new errors.InvalidTarget("unknown resource indicator (not one of the configured resource servers)");
    const scope = (client.scope ?? "")
      .split(" ")
      .filter((name) => name && !NOT_FOR_RESOURCE_SERVERS.has(name))
      .join(" ");
    const jwt = clientSetting(client, "idp_access_token_format") === "jwt";
    return {
      scope,
      audience: indicator,
      ...(jwt ? { accessTokenFormat: "jwt" as const, jwt: { sign: { alg: config.idTokenSigningAlg } } } : { accessTokenFormat: "opaque" as const }),
    };
  };
}

function cookieNames(secure: boolean) {
  // `__Host-` pins a cookie to this origin and path "/", so a sibling subdomain cannot plant or
  // overwrite it (session fixation). The interaction cookies have narrower paths: `__Secure-`.
  return secure
    ? { session: "__Host-session", interaction: "__Secure-interaction", resume: "__Secure-resume" }
    : { session: "idp_session", interaction: "idp_interaction", resume: "idp_resume" };
}

/**
 * The provider profile: Authorization Code + PKCE (S256) only, rotating refresh tokens
 * with an absolute lifetime, RFC 9207 `iss`, revocation, introspection, RP-initiated logout.
 */
export function createProvider(deps: ProviderDependencies): Provider {
  const { config, views } = deps;
  const { ttl } = config;
  const publicOnlyFetch = createPublicOnlyFetch();
  const cookieOptions = { httpOnly: true, sameSite: "lax" as const, secure: config.secureCookies };
  // Standalone claims (null: released only on request) plus what each scope releases; every
  // ID token carries how and when the user authenticated (the `openid` mask governs ID tokens).
  const claims: ClaimsConfiguration = {
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
    iss: null,
    ...config.claimsByScope,
    openid: [...new Set([...(config.claimsByScope.openid ?? []), "sub", "acr", "amr", "auth_time"])],
  };

  const configuration: Configuration = {
    adapter: deps.adapter,
    findAccount: (ctx, sub, token) => deps.findAccount(ctx, sub, token),
    jwks: { keys: deps.jwks as NonNullable<Configuration["jwks"]>["keys"] },
    cookies: { names: cookieNames(config.secureCookies), long: cookieOptions, short: cookieOptions, keys: deps.cookieKeys },
    claims,
    // Pages and mails in these languages, chosen by ui_locales (then Accept-Language).
    discovery: { claim_types_supported: ["normal"], ui_locales_supported: [...config.languages.offered] },
    scopes: supportedScopes(config.claimsByScope),
    acrValues: [...ACR_VALUES],
    responseTypes: ["code"],
    pkce: { required: () => true },
    clientAuthMethods: ["client_secret_basic", "client_secret_post", "none"],
    // Secrets are stored hashed, so nothing may use them as HMAC keys (no HS*, no client_secret_jwt).
    enabledJWA: {
      idTokenSigningAlgValues: [...SIGNING_ALGS],
      userinfoSigningAlgValues: [...SIGNING_ALGS],
      introspectionSigningAlgValues: [...SIGNING_ALGS],
      authorizationSigningAlgValues: [...SIGNING_ALGS],
      requestObjectSigningAlgValues: [...SIGNING_ALGS],
      clientAuthSigningAlgValues: [...SIGNING_ALGS],
    },
    clientDefaults: {
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: config.idTokenSigningAlg,
    },
    extraClientMetadata: {
      properties: [
        "idp_first_party",
        "idp_minimum_acr",
        "idp_access_token_seconds",
        "idp_refresh_token_seconds",
        "idp_access_token_format",
        "idp_allowed_groups",
        "idp_logo_data_uri",
      ],
    },
    // The claims of the granted scopes (email, profile, groups, custom ones) go in the ID token too,
    // not only to userinfo: what relying parties that read only the ID token (Grafana,
    // mod_auth_openidc's defaults) need, as Keycloak and Pocket ID do (OIDC Core §5.4 allows both).
    conformIdTokenClaims: false,
    // OIDC Core §3.1.2.1: redirect_uri is required, even for a client with one registered URI.
    allowOmittingSingleRegisteredRedirectUri: false,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      // A client may introspect only tokens issued to itself (no token-scanning across clients).
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      clientCredentials: { enabled: true },
      // Off without RESOURCE_SERVERS (a `resource` parameter is ignored, as before). The default
      // `defaultResource` (none unless asked) keeps tokens without `resource` as they were.
      resourceIndicators: { enabled: config.resourceServers.length > 0, getResourceServerInfo: resourceServerInfo(config) },
      claimsParameter: { enabled: true, assertClaimsParameter: restrictClaimsParameter(claims) },
      userinfo: { enabled: true },
      // OIDC Back-Channel Logout 1.0: signed logout tokens to clients that registered an endpoint.
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
          ctx.body = views.renderToString(ctx as unknown as Context, "logout/confirm", {
            title: views.textOf(ctx as unknown as Context).t("logout:titles.signOut"),
            form,
            siteName: config.branding.siteName,
          });
        },
        postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => {
          ctx.body = views.renderToString(ctx as unknown as Context, "logout/done", {
            title: views.textOf(ctx as unknown as Context).t("logout:titles.signedOut"),
          });
        },
      },
    },
    // RFC 9700 §4.14.2: every use rotates the refresh token; reuse of a rotated one revokes the grant.
    rotateRefreshToken: true,
    // Every app registered with the refresh_token grant gets one at each code exchange (most relying
    // parties never ask for offline_access). Without a consented offline_access it is bound to the
    // IdP session (oidc-provider's expiresWithSession) and dies with it; with it, it outlives the session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    ttl: {
      // Per-client lifetimes (`clients … --access-token-ttl`, `--refresh-token-ttl`) override the server's.
      AccessToken: (_ctx, _token, client) => clientSeconds(client, "idp_access_token_seconds") ?? ttl.accessTokenSeconds,
      AuthorizationCode: ttl.authorizationCodeSeconds,
      ClientCredentials: (_ctx, _token, client) => clientSeconds(client, "idp_access_token_seconds") ?? ttl.clientCredentialsSeconds,
      IdToken: ttl.idTokenSeconds,
      Interaction: ttl.interactionSeconds,
      Session: (_ctx, session) => sessionLifetime(ttl, session as unknown as SessionTimes),
      Grant: ttl.refreshTokenAbsoluteSeconds,
      // Idle lifetime, never past the absolute lifetime counted from the first issue (iiat).
      RefreshToken: (_ctx, token, client) =>
        Math.max(
          1,
          Math.min(
            clientSeconds(client, "idp_refresh_token_seconds") ?? ttl.refreshTokenIdleSeconds,
            ttl.refreshTokenAbsoluteSeconds - (token as unknown as { totalLifetime(): number }).totalLifetime(),
          ),
        ),
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: interactionPolicyWithAcr({
        globalMinimumAcr: config.policy.minimumAcr,
        isRiskySilentRequest: deps.isRiskySilentRequest,
        appAccess: deps.appAccess,
        needsApprovedKey: deps.needsApprovedKey,
      }),
    },
    // SSRF: outgoing requests (back-channel logout) refuse private and loopback addresses before
    // connecting. In development only, a relying party on this machine may be reached.
    fetch: (url, options) => {
      const target = new URL(url instanceof Request ? url.url : url);
      if (config.production || !LOOPBACK.has(target.hostname)) return publicOnlyFetch(url, options);
      delete (options as { dispatcher?: unknown }).dispatcher;
      return globalThis.fetch(url, options);
    },
    renderError: async (ctx, out, error) => {
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) deps.logger.error({ err: error }, "provider error");
      ctx.type = "html";
      ctx.body = views.renderToString(ctx as unknown as Context, "errors/error", explainOAuthError(out, views.textOf(ctx as unknown as Context).t));
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  // oidc-provider runs its own koa context on the same request: the same client address and origin.
  provider.use(clientAddress(proxyTrust(config)));
  provider.use(pinHrefToIssuer(config.issuer));
  provider.use(pageForUnknownPaths(views));
  reportRequestedAcr(provider);
  provider.on("backchannel.error", (_ctx, error, client) => {
    deps.logger.warn({ err: error, clientId: client.clientId }, "back-channel logout delivery failed");
  });

  // Client secrets are stored as SHA-256 hashes; compare the hash of what was presented.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return Promise.resolve(typeof this.clientSecret === "string" && constantTimeEqual(sha256(actual), this.clientSecret));
  };

  return provider;
}
