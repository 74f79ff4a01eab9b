import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { JWK } from "jose";
import Koa, { type Context } from "koa";
import type Provider from "oidc-provider";
import { errors } from "oidc-provider";
import { createAccountAccess } from "./account/account-access.js";
import { createAccountOverview } from "./account/account-overview.js";
import { createAccountSignIn } from "./account/account-sign-in.js";
import { accountRoutes } from "./account/routes.js";
import { adminApiRoutes } from "./admin/api-routes.js";
import { createDeviceCookie } from "./auth/device-cookie.js";
import type { Config } from "./config.js";
import { createConsoleAccess } from "./console/console-access.js";
import { createConsoleSignIn } from "./console/console-sign-in.js";
import { consoleRoutes } from "./console/routes.js";
import type { DerivedKeys } from "./crypto/derived-keys.js";
import { createAdminApiThrottle } from "./db/rate-limits.js";
import { authorizationPost } from "./http/authorization-post.js";
import { brandAssets } from "./http/brand-assets.js";
import { clientAddress, proxyTrust } from "./http/client-address.js";
import { errorHandler } from "./http/error-handler.js";
import { healthRoutes } from "./http/health.js";
import { refuseHostileInput } from "./http/hostile-input.js";
import { refuseOtherHosts } from "./http/issuer-origin.js";
import { loadShedding } from "./http/load-shedding.js";
import { relatedOriginsDocument } from "./http/related-origins.js";
import { requestContext } from "./http/request-context.js";
import { refuseUnreadableTarget } from "./http/request-target.js";
import { securityHeaders } from "./http/security-headers.js";
import { staticAssets } from "./http/static-assets.js";
import { requireTls } from "./http/tls-required.js";
import { createViews, type Views } from "./http/views.js";
import { uiLocalesOf } from "./i18n/languages.js";
import { interactionRoutes } from "./interactions/routes.js";
import type { Logger } from "./logger.js";
import { metricsRoute } from "./observability/metrics.js";
import { createPrismaAdapterFactory } from "./oidc/adapter.js";
import { approvedKeyRule } from "./oidc/approved-key-rule.js";
import { createAccountFinder } from "./oidc/find-account.js";
import { introspectionFollowsAccess } from "./oidc/introspection-access.js";
import { createProvider } from "./oidc/provider.js";
import { recordSessionActivity } from "./oidc/session-activity.js";
import { PROJECT_ROOT } from "./paths.js";
import { recoveryLinkRoutes } from "./recovery/routes.js";
import type { Services } from "./services.js";
import { signUpLinkRoutes } from "./signup/routes.js";

export interface Application {
  app: Koa;
  provider: Provider;
}

const VIEWS_DIR = join(PROJECT_ROOT, "views");
// The package's exports hide its browser bundle: resolve the package, then the file.
const SIMPLEWEBAUTHN_BROWSER_BUNDLE = join(dirname(dirname(createRequire(import.meta.url).resolve("@simplewebauthn/browser"))), "dist/bundle/index.umd.min.js");

/** Builds the HTTP application: the provider plus the app's own routes, middleware top to bottom. */
export async function buildApp(config: Config, services: Services, keys: DerivedKeys, logger: Logger, jwks: JWK[]): Promise<Application> {
  const brand = brandAssets(config.branding);
  const { texts } = services;
  const views: Views = createViews(VIEWS_DIR, { cache: config.production, brand: brand.onPage, texts });
  const adapter = createPrismaAdapterFactory({
    queries: services.oidcPayloads,
    hot: services.hotPayloads,
    evictHere: services.evictHere,
    clients: services.clients,
    cache: services.payloadCache,
    invalidate: services.invalidate,
    soleProcess: services.soleProcess,
    onReuse: (kind, accountId) => {
      services.metrics.reuseDetections.inc({ kind });
      // A background task, so shutdown (and a test) waits for the record instead of dropping it.
      services.tasks.run("reuse record", () =>
        services.events.record({ type: "token.reuse_detected", outcome: "refused", userId: accountId ?? null, details: { kind } }),
      );
    },
  });
  const provider = createProvider({
    config,
    adapter,
    findAccount: createAccountFinder(services.userQueries.findAccountById, { cacheSeconds: config.caches.accountSeconds }),
    jwks,
    cookieKeys: keys.cookieKeys,
    views,
    logger,
    appAccess: {
      isMemberOfAny: services.groupQueries.isMemberOfAny,
      refused: (ctx, userId) =>
        services.events.record({
          type: "access.denied",
          outcome: "refused",
          userId,
          ip: ctx.ip,
          userAgent: ctx.get("User-Agent") || null,
          details: { client_id: ctx.oidc.client?.clientId ?? null },
        }),
    },
    needsApprovedKey: approvedKeyRule({
      policy: config.policy.passkeys,
      globalMinimumAcr: config.policy.minimumAcr,
      isOperator: services.isOperator,
    }),
    isRiskySilentRequest: (ctx) => {
      const session = ctx.oidc.session as { uid: string; accountId: string };
      return services.risk.silent({ sessionUid: session.uid, userId: session.accountId, userAgent: ctx.get("User-Agent"), ip: ctx.ip });
    },
  });

  provider.use(introspectionFollowsAccess(provider, services.groupQueries.isMemberOfAny));

  // What an oidc-provider request held back for one statement is written before its answer leaves
  // (adapter.ts); if that fails, the answer (a code, a signed-in session) must not leave either, nor
  // the cookies that would point the browser at state that was not stored: it can simply try again.
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      try {
        await adapter.endRequest(ctx);
      } catch (error) {
        answerUnstored(ctx as unknown as Context, error);
      }
    }
  });
  function answerUnstored(ctx: Context, error: unknown): void {
    ctx.remove("Location");
    ctx.remove("Set-Cookie");
    if (error instanceof errors.SessionNotFound) {
      // Signed out, or the step (a sign-in, a logout) finished in another tab, while this request ran: nothing of it was stored.
      ctx.status = 400;
      ctx.type = "html";
      ctx.body = views.renderToString(ctx, "errors/error", {
        title: "This step already ended",
        message: "It was completed or ended in another window, or you were signed out meanwhile.",
        next: "Go back to the app and try again.",
        error: "session_ended",
      });
    } else {
      logger.error({ err: error }, "could not store what an authorization request changed");
      ctx.status = 500;
      ctx.body = { error: "server_error", error_description: "The request could not be completed. Try again." };
    }
  }
  recordSessionActivity(provider, services.sessionDevices, services.tasks);
  services.relyingPartyLogout.attach(provider);
  provider.on("grant.success", (ctx) => services.metrics.tokenGrants.inc({ grant_type: String(ctx.oidc.params?.grant_type ?? "unknown") }));

  const app = new Koa({ keys: keys.cookieKeys, proxy: config.trustProxy });
  app.silent = true;

  app.use(requestContext(logger));
  app.use(refuseUnreadableTarget());
  app.use(clientAddress(proxyTrust(config)));
  app.use(securityHeaders({ hsts: config.secureCookies }));
  app.use(loadShedding(config.load, { views, metrics: services.metrics }));
  app.use(errorHandler(views));
  app.use(healthRoutes(services.db).routes());
  app.use(metricsRoute(services.metrics, config.metricsToken).routes());
  if (config.secureCookies) app.use(requireTls({ trustProxy: config.trustProxy }));
  // Health checks and /metrics (no URLs in them) above stay reachable by IP for probes and scrapers.
  app.use(refuseOtherHosts(config.issuer));
  app.use(refuseHostileInput({ bodyLimit: config.requestBodyLimit }));
  app.use(
    staticAssets(join(VIEWS_DIR, "static"), {
      cache: config.production,
      packageFiles: { "simplewebauthn-browser.js": SIMPLEWEBAUTHN_BROWSER_BUNDLE },
      generated: brand.files,
    }).routes(),
  );
  // What every group of the app's own pages needs: rendering, CSRF (issuer, cookie flavour), body limit.
  const pages = { views, issuer: config.issuer, secureCookies: config.secureCookies, bodyLimit: config.requestBodyLimit };
  app.use(
    interactionRoutes({
      provider,
      users: services.users,
      userQueries: services.userQueries,
      passkeys: services.passkeys,
      signInThrottle: services.signInThrottle,
      signInSteps: services.signInSteps,
      deviceCookie: createDeviceCookie({
        secureCookies: config.secureCookies,
        key: keys.deviceKey,
      }),
      ...pages,
      interactionSeconds: config.ttl.interactionSeconds,
      signUp: services.signUp,
      secondFactors: services.secondFactors,
      recovery: services.recovery,
      notifySecurityChange: services.notifySecurityChange,
      events: services.events,
      risk: services.risk,
      noticeNewDevice: services.noticeNewDevice,
      userLanguage: services.userLanguage,
      totp: services.totp,
      backupCodes: services.backupCodes,
      globalMinimumAcr: config.policy.minimumAcr,
      recoveryLinkMinutes: Math.round(config.recovery.linkSeconds / 60),
      signUpLinkMinutes: Math.round(config.signUp.linkSeconds / 60),
    }).routes(),
  );
  app.use(
    signUpLinkRoutes({
      signUp: services.signUp,
      signInSteps: services.signInSteps,
      ...pages,
      interactionSeconds: config.ttl.interactionSeconds,
      uiLocalesOfInteraction: async (uid) => uiLocalesOf((await provider.Interaction.find(uid))?.params.ui_locales),
    }).routes(),
  );

  app.use(
    recoveryLinkRoutes({
      recovery: services.recovery,
      ...pages,
    }).routes(),
  );
  const accountSignIn = createAccountSignIn({ provider, issuer: config.issuer, secureCookies: config.secureCookies });
  const accountOverview = createAccountOverview({
    users: services.userQueries,
    credentials: services.credentials,
    secondFactors: services.secondFactors,
    oidcPayloads: services.oidcPayloads,
    sessionDevices: services.sessionDevices,
    clients: services.clients,
    events: services.events,
    pendingEmail: services.emailChange.pending,
    defaultT: services.texts.inLanguage(config.languages.default).t,
  });
  app.use(
    accountRoutes({
      signIn: accountSignIn,
      access: createAccountAccess({
        signIn: accountSignIn,
        users: services.userQueries,
        secondFactors: services.secondFactors,
        reverifySeconds: config.account.reverifySeconds,
      }),
      overview: accountOverview,
      rpId: config.webauthn.rpId,
      users: services.userQueries,
      credentials: services.credentials,
      passkeys: services.passkeys,
      totp: services.totp,
      backupCodes: services.backupCodes,
      secondFactors: services.secondFactors,
      oidcPayloads: services.oidcPayloads,
      invalidate: services.invalidate,
      events: services.events,
      notify: services.notifySecurityChange,
      signOutEverywhere: services.signOutEverywhere,
      signOutSession: services.signOutSession,
      emailChange: services.emailChange,
      setPassword: services.users.setPassword,
      passwordsOptional: config.signUp.passwords === "optional",
      userLanguage: services.userLanguage,
      ...pages,
    }).routes(),
  );

  app.use(
    adminApiRoutes({
      provider,
      clients: services.clients,
      users: services.users,
      userAdmin: services.userAdmin,
      groups: services.groups,
      customClaims: services.customClaims,
      administration: services.administration,
      audit: services.audit,
      events: services.events,
      overview: services.overview,
      throttle: createAdminApiThrottle(services.db, config.throttle),
      bodyLimit: config.requestBodyLimit,
    }).routes(),
  );

  // After the admin API: its router answers everything under /admin/api, so no console route can shadow it.
  const consoleSignIn = createConsoleSignIn({ provider, issuer: config.issuer, secureCookies: config.secureCookies });
  app.use(
    consoleRoutes({
      signIn: consoleSignIn,
      access: createConsoleAccess({
        signIn: consoleSignIn,
        findUser: services.userQueries.findUserById,
        reverifySeconds: config.account.reverifySeconds,
        approvedKeysOnly: config.policy.passkeys.attestation === "direct",
      }),
      overview: services.overview,
      person: accountOverview,
      clients: services.clients,
      userAdmin: services.userAdmin,
      groups: services.groups,
      administration: services.administration,
      audit: services.audit,
      events: services.events,
      emailsOf: services.userQueries.findUsersByIds,
      ...pages,
    }).routes(),
  );

  app.use(relatedOriginsDocument(config.webauthn.relatedOrigins));
  app.use(authorizationPost({ path: "/auth", bodyLimit: config.requestBodyLimit }));

  // Everything else is oidc-provider's (discovery, /auth, /token, /me, /session/end, …).
  const providerCallback = provider.callback();
  app.use(async (ctx) => {
    ctx.respond = false;
    // oidc-provider sends no caching advice for its JWKS; this lifetime is what a key rotation's
    // publish delay (keys.publishDelaySeconds) outlasts, so no relying party meets an unknown kid.
    if (ctx.method === "GET" && ctx.path === "/jwks") ctx.res.setHeader("Cache-Control", `public, max-age=${config.keys.jwksMaxAgeSeconds}`);
    await providerCallback(ctx.req, ctx.res);
  });

  return { app, provider };
}
