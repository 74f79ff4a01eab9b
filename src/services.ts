import { randomBytes } from "node:crypto";
import { accountClientMetadata } from "./account/account-client.js";
import { createEmailChange } from "./account/email-change.js";
import { createAdministration } from "./admin/administration.js";
import { createOverview, passkeyAdoption } from "./admin/overview.js";
import { createAuditLog } from "./audit/audit-log.js";
import { createSecurityEventLog } from "./audit/security-event-log.js";
import { createNewDeviceNotice, createSecurityNotifier } from "./audit/security-notifier.js";
import { createRelyingPartyLogout } from "./auth/relying-party-logout.js";
import { createRiskAssessor } from "./auth/risk-assessor.js";
import { createSessionsEndedFollowUp, createSignOutEverywhere, createSignOutSession } from "./auth/sign-out-everywhere.js";
import { createBackgroundTasks } from "./background-tasks.js";
import { createClientRegistry } from "./clients/client-registry.js";
import { ACCESS_TOKEN_SECONDS } from "./clients/client-rules.js";
import { createInvalidationBus, singleProcessChannel } from "./cluster/invalidation-bus.js";
import type { Config } from "./config.js";
import { consoleClientsMetadata } from "./console/console-client.js";
import { type DerivedKeys, deriveKeys } from "./crypto/derived-keys.js";
import { loadOrCreateDevSecret } from "./crypto/dev-secret.js";
import { createPasswordHasher } from "./crypto/password.js";
import { createAuditEventQueries } from "./db/audit-events.js";
import { createClientQueries } from "./db/clients.js";
import { createConsoleStatQueries } from "./db/console-stats.js";
import { createCredentialQueries } from "./db/credentials.js";
import { createCustomClaimQueries } from "./db/custom-claims.js";
import { createEmailChangeQueries } from "./db/email-changes.js";
import { createEmailLinkQueries } from "./db/email-links.js";
import { createGroupQueries } from "./db/groups.js";
import { createHotPayloadQueries } from "./db/hot-payloads.js";
import { createInteractionStateQueries } from "./db/interaction-state.js";
import { notifyChannel } from "./db/invalidation-channel.js";
import { createOidcPayloadQueries } from "./db/oidc-payloads.js";
import type { Database } from "./db/open-database.js";
import { createMailThrottle, createSecondFactorThrottle, createSignInThrottle } from "./db/rate-limits.js";
import { createRecoveryQueries } from "./db/recoveries.js";
import { createSecondFactorQueries } from "./db/second-factors.js";
import { createSecurityEventQueries } from "./db/security-events.js";
import { createSessionDeviceQueries } from "./db/session-devices.js";
import { createSignInStepQueries } from "./db/sign-in-steps.js";
import { createSignUpQueries } from "./db/sign-ups.js";
import { createSigningKeyQueries } from "./db/signing-keys.js";
import { createUserQueries } from "./db/users.js";
import { createCustomClaimService } from "./groups/custom-claim-service.js";
import { createGroupService } from "./groups/group-service.js";
import { loadCatalogs } from "./i18n/catalogs.js";
import { createPageTexts } from "./i18n/page-text.js";
import type { Logger } from "./logger.js";
import { createMailer } from "./mail/mailer.js";
import { createBackupCodeService } from "./mfa/backup-codes.js";
import { createSecondFactorService } from "./mfa/second-factor-service.js";
import { createTotpService } from "./mfa/totp.js";
import { createMetrics } from "./observability/metrics.js";
import { createPayloadCache } from "./oidc/payload-cache.js";
import { applyInvalidation, type Invalidator } from "./oidc/payload-invalidation.js";
import { supportedScopes } from "./oidc/scopes.js";
import { createSigningKeyService, retiredKeyGraceSeconds } from "./oidc/signing-keys.js";
import { createRecoveryService } from "./recovery/recovery-service.js";
import { createSignUpService } from "./signup/sign-up-service.js";
import { createUserAdmin } from "./users/user-admin.js";
import { createUserLanguage } from "./users/user-language.js";
import { createUserService } from "./users/user-service.js";
import { createPasskeyService } from "./webauthn/passkey-service.js";

/** Every service, built from its dependencies; one set per database (the server, the CLI, each test). */
export function createServices(database: Database, config: Config, keys: DerivedKeys, logger: Logger, now?: () => Date) {
  const db = database.prisma;
  const userQueries = createUserQueries(db);
  const credentials = createCredentialQueries(db);
  const interactionState = createInteractionStateQueries(db);
  const emailLinks = createEmailLinkQueries(db);
  const passwords = createPasswordHasher(config.password);
  const payloadCache = createPayloadCache({ maxEntries: config.caches.oidcPayloadEntries, ttlSeconds: config.caches.oidcPayloadSeconds });
  // PGlite is owned by one process; on PostgreSQL other server processes must hear about evictions.
  // Names this process in its NOTIFY messages, so that its listener skips its own.
  const invalidationOrigin = randomBytes(12).toString("base64url");
  const invalidations = createInvalidationBus(database.kind === "postgres" ? notifyChannel(db, invalidationOrigin) : singleProcessChannel);
  invalidations.subscribe((message) => applyInvalidation(payloadCache, message));
  invalidations.onAvailability((available) => payloadCache.setEnabled(available));
  const invalidate: Invalidator = invalidations.publish;
  const metrics = createMetrics(database);
  const consoleStats = createConsoleStatQueries(db);
  metrics.watchAdoption(passkeyAdoption(consoleStats));
  const events = createSecurityEventLog(createSecurityEventQueries(db), logger, metrics);
  const isOperator = async (userId: string) => (await userQueries.findUserById(userId))?.role === "operator";
  const passkeys = createPasskeyService({
    credentials,
    state: interactionState,
    config: config.webauthn,
    events,
    policy: config.policy.passkeys,
    isOperator,
  });
  const secondFactorQueries = createSecondFactorQueries(db);
  const totp = createTotpService({ queries: secondFactorQueries, dataKey: keys.dataKey, issuerName: config.branding.siteName });
  const backupCodes = createBackupCodeService({ queries: secondFactorQueries, hashKey: keys.hashKey });
  const mailer = createMailer(config.mail, logger);
  const mailThrottle = createMailThrottle(db, config.signUp);
  const secondFactors = createSecondFactorService({
    totp,
    backupCodes,
    countFactors: secondFactorQueries.countFactors,
    throttle: createSecondFactorThrottle(db, config.throttle),
    events,
    codeChecked: (kind) => metrics.secondFactorChecks.inc({ kind }),
  });
  const tasks = createBackgroundTasks(logger);
  // Pages and mails share one set of catalogs; mails sent outside a request speak the user's language.
  const texts = createPageTexts(loadCatalogs(), { offered: config.languages.offered, fallback: config.languages.default });
  const userLanguage = createUserLanguage({ users: userQueries, offered: config.languages.offered, fallback: config.languages.default });
  const mailText = { users: userQueries, mailer, tasks, texts, userLanguage, siteName: config.branding.siteName };
  const notifySecurityChange = createSecurityNotifier({ ...mailText, events });
  const oidcPayloads = createOidcPayloadQueries(db);
  const hotPayloads = createHotPayloadQueries(database.hot, invalidationOrigin);
  const sessionDevices = createSessionDeviceQueries(db);
  const signInThrottle = createSignInThrottle(db, config.throttle);
  const relyingPartyLogout = createRelyingPartyLogout({ tasks, logger });
  const signOutDependencies = { oidcPayloads, sessionDevices, invalidate, relyingPartyLogout };
  const signOutEverywhere = createSignOutEverywhere(signOutDependencies);
  const groupQueries = createGroupQueries(db);
  const clients = createClientRegistry(createClientQueries(db), {
    findGroupsByNames: groupQueries.findGroupsByNames,
    cacheSeconds: config.caches.clientSeconds,
    changed: (clientId) => invalidate({ client: clientId }),
    onDeleted: (clientId) => invalidate({ clientId }),
    builtIn: [accountClientMetadata(config.issuer), ...consoleClientsMetadata(config.issuer)],
    policy: {
      supportedScopes: supportedScopes(config.claimsByScope),
      maxRefreshTokenSeconds: config.ttl.refreshTokenAbsoluteSeconds,
      publicBackchannelHostsOnly: config.production,
    },
  });
  invalidations.subscribe((message) => {
    if ("client" in message) clients.forget(message.client);
  });
  invalidations.onAvailability((available) => clients.setCaching(available));
  const signUp = createSignUpService({
    users: userQueries,
    links: emailLinks,
    signUps: createSignUpQueries(db),
    passkeys,
    mailer,
    mailThrottle,
    tasks,
    texts,
    config,
    logger,
  });
  const recovery = createRecoveryService({
    users: userQueries,
    links: emailLinks,
    recoveries: createRecoveryQueries(db),
    passkeys,
    secondFactors,
    passwords,
    sessionsEnded: createSessionsEndedFollowUp(signOutDependencies),
    events,
    notify: notifySecurityChange,
    mailer,
    mailThrottle,
    tasks,
    texts,
    userLanguage,
    config,
  });
  const users = createUserService(userQueries, passwords, { passwordChecked: () => metrics.passwordChecks.inc() });
  const userAdmin = createUserAdmin({ users: userQueries, secondFactors, signOutEverywhere, events, groupsOf: groupQueries.groupsOfUser });
  const groups = createGroupService({ queries: groupQueries, findUser: userAdmin.find });
  const customClaims = createCustomClaimService({
    queries: createCustomClaimQueries(db),
    customScopes: config.customScopes,
    findUser: userAdmin.find,
    findGroup: groups.show,
  });
  const audit = createAuditLog(createAuditEventQueries(db), logger, metrics);
  return {
    db,
    metrics,
    mailer,
    tasks,
    payloadCache,
    invalidations,
    invalidate,
    /** Evicts in this process only, after a statement of `hotPayloads` that notified the others itself. */
    evictHere: invalidations.receive,
    invalidationOrigin,
    /** No other process uses the database (the embedded one is this process's alone, data-dir-lock.ts). */
    soleProcess: database.kind === "pglite",
    oidcPayloads,
    hotPayloads,
    users,
    signInThrottle,
    risk: createRiskAssessor({ sessionDevices, users: userQueries, signInThrottle, events, threshold: config.risk.threshold }),
    sessionDevices,
    userQueries,
    /** Whether an account has the operator role (read afresh: a demotion counts at once). */
    isOperator,
    credentials,
    interactionState,
    signInSteps: createSignInStepQueries(db),
    passkeys,
    events,
    totp,
    backupCodes,
    secondFactors,
    emailLinks,
    signOutEverywhere,
    emailChange: createEmailChange({
      users: userQueries,
      links: emailLinks,
      changes: createEmailChangeQueries(db),
      mailer,
      mailThrottle,
      tasks,
      texts,
      events,
      issuer: config.issuer,
      siteName: config.branding.siteName,
      linkSeconds: config.signUp.linkSeconds,
    }),
    signOutSession: createSignOutSession(signOutDependencies),
    relyingPartyLogout,
    notifySecurityChange,
    noticeNewDevice: createNewDeviceNotice({ ...mailText, issuer: config.issuer }),
    texts,
    userLanguage,
    userAdmin,
    audit,
    overview: createOverview(consoleStats),
    groupQueries,
    groups,
    customClaims,
    administration: createAdministration({ clients, users, userAdmin, groups, customClaims, signUp, recovery, audit }),
    clients,
    signUp,
    recovery,
    signingKeys: createSigningKeyService(createSigningKeyQueries(db), {
      dataKey: keys.dataKey,
      graceSeconds: retiredKeyGraceSeconds({ ...config, maxClientAccessTokenSeconds: ACCESS_TOKEN_SECONDS.max }),
      publishDelaySeconds: config.keys.publishDelaySeconds,
      now,
      announce: () => invalidate({ signingKeys: "changed" }),
    }),
  };
}

export type Services = ReturnType<typeof createServices>;

/** The services and the keys they were built with, from the configured root secret (the dev secret in DATA_DIR without one). */
export function servicesFor(database: Database, config: Config, logger: Logger, now?: () => Date) {
  const keys = deriveKeys(config.secretKey ?? loadOrCreateDevSecret(config.dataDir));
  return { keys, services: createServices(database, config, keys, logger, now) };
}
