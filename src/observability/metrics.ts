import Router from "@koa/router";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { constantTimeEqual } from "../crypto/hash.js";

/**
 * Prometheus counters (prom-client), one registry per server: sign-ins by method and outcome,
 * token grants by type, refresh-token and code reuse, lock-outs, risk step-ups, and every
 * security event by type and outcome, operators' changes by action, and the secrets actually
 * checked (password hashes, second-factor codes: what a throttle must bound), load shedding:
 * requests refused and the requests running and waiting now, and the SQL statements sent.
 */
/** Shares from 0 to 1; null when there is nothing to divide by (no active person, no sign-in). */
export interface Adoption {
  usersWithPasskey: number | null;
  signInsByPasskey: number | null;
}

const ADOPTION_CACHE_MS = 60_000;

export function createMetrics(database: { statements: { readonly count: number } }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "idp_" });
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter({ name, help, labelNames, registers: [registry] });
  let load: LoadSource = { inFlight: 0, queued: 0 };
  let exposition = () => registry.metrics();
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  // Passkey adoption (issue #16): read from the database at a scrape, at most once a minute; the
  // same figure in every worker, so a cluster reports one worker's, not their sum.
  let adoption: (() => Promise<Adoption>) | null = null;
  let adoptionRead: { at: number; figures: Promise<Adoption> } | null = null;
  const adoptionNow = () => {
    if (!adoption) return null;
    if (!adoptionRead || Date.now() - adoptionRead.at > ADOPTION_CACHE_MS) adoptionRead = { at: Date.now(), figures: adoption() };
    return adoptionRead.figures;
  };
  for (const [name, help, pick] of [
    ["idp_passkey_users_ratio", "Share of active people with at least one passkey (0 to 1)", (figures: Adoption) => figures.usersWithPasskey],
    [
      "idp_passkey_sign_ins_ratio",
      "Share of the last 7 days' successful sign-ins made with a passkey alone (0 to 1)",
      (figures: Adoption) => figures.signInsByPasskey,
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      aggregator: "first",
      async collect() {
        const figures = await adoptionNow()?.catch(() => null);
        if (figures && pick(figures) !== null) this.set(pick(figures) as number);
      },
    });
  }
  gauge("idp_requests_in_flight", "Requests running now (load.maxInFlight bounds them)", () => load.inFlight);
  gauge("idp_requests_queued", "Requests waiting for a slot now (load.maxQueued bounds them)", () => load.queued);
  let statementsCounted = 0;
  new Counter({
    name: "idp_database_statements_total",
    help: "SQL statements this process sent to the database (BEGIN and COMMIT included): per request, the database's load",
    registers: [registry],
    collect() {
      const sent = database.statements.count;
      this.inc(sent - statementsCounted);
      statementsCounted = sent;
    },
  });
  return {
    registry,
    signIns: counter("idp_sign_ins_total", "Sign-ins by method (password, password_otp, passkey, password_passkey) and outcome", ["method", "outcome"]),
    tokenGrants: counter("idp_token_grants_total", "Successful token endpoint grants by grant type", ["grant_type"]),
    reuseDetections: counter("idp_reuse_detections_total", "A consumed refresh token or code presented again (the grant is revoked)", ["kind"]),
    lockouts: counter("idp_lockouts_total", "Attempts refused by a lock-out", ["kind"]),
    riskStepUps: counter("idp_risk_step_ups_total", "Silent re-authentications sent to step up by the risk score", []),
    securityEvents: counter("idp_security_events_total", "Security events by type and outcome", ["type", "outcome"]),
    adminChanges: counter("idp_admin_changes_total", "Operators' changes (admin API and CLI) by action", ["action"]),
    passwordChecks: counter("idp_password_checks_total", "Sign-in passwords verified against a hash (argon2), whatever the outcome", []),
    secondFactorChecks: counter("idp_second_factor_checks_total", "Second-factor codes verified, by kind (totp, backup_code), whatever the outcome", ["kind"]),
    requestsShed: counter(
      "idp_requests_shed_total",
      "Requests load shedding did not run, by reason (full, queue_timeout: answered 503; client_gone: its client left while it waited)",
      ["reason"],
    ),
    /** Where the passkey adoption gauges read their figures. */
    watchAdoption(source: () => Promise<Adoption>) {
      adoption = source;
      adoptionRead = null;
    },
    /** The load-shedding middleware's counts, read at each scrape. */
    watchLoad(source: LoadSource) {
      load = source;
    },
    /** What `GET /metrics` serves: this registry, or in a cluster every worker's together. */
    serveFrom(source: () => Promise<string>) {
      exposition = source;
    },
    /** Throws when the figures cannot be gathered (a cluster's primary did not answer). */
    exposition: () => exposition(),
  };
}

interface LoadSource {
  readonly inFlight: number;
  readonly queued: number;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The sign-in method label from RFC 8176 methods. */
export function signInMethodOf(amr: readonly string[]): string {
  const webauthn = amr.includes("hwk") || amr.includes("swk");
  if (amr.includes("pwd")) return webauthn ? "password_passkey" : amr.includes("otp") ? "password_otp" : "password";
  return webauthn ? "passkey" : "other";
}

/**
 * `GET /metrics`, only with `Authorization: Bearer <METRICS_TOKEN>`; without a configured token
 * the route does not exist (not public by default: counts of sign-ins and lock-outs are telling).
 */
export function metricsRoute(metrics: Metrics, token: string | null): Router {
  const router = new Router();
  if (!token) return router;
  router.get("/metrics", async (ctx) => {
    const presented = /^Bearer (.+)$/.exec(ctx.get("Authorization"))?.[1] ?? "";
    if (!constantTimeEqual(presented, token)) {
      ctx.status = 401;
      ctx.set("WWW-Authenticate", 'Bearer realm="metrics"');
      ctx.body = { error: "unauthorized", error_description: "A valid metrics token is required." };
      return;
    }
    ctx.set("Cache-Control", "no-store");
    try {
      ctx.body = await metrics.exposition();
    } catch (error) {
      ctx.state.log?.warn({ err: error }, "metrics could not be gathered");
      ctx.status = 503;
      ctx.body = { error: "unavailable", error_description: "The metrics could not be gathered; retry." };
      return;
    }
    ctx.set("Content-Type", metrics.registry.contentType);
  });
  return router;
}
