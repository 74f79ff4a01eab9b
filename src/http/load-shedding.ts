import type { Context, Middleware } from "koa";
import type { Metrics } from "../observability/metrics.js";
import { type ConcurrencyLimitOptions, createConcurrencyLimit, type Refusal } from "./concurrency-limit.js";
import type { Views } from "./views.js";

export interface LoadSheddingOptions extends ConcurrencyLimitOptions {
  retryAfterSeconds: number;
}

// An orchestrator must see a busy instance as alive and ready, and operators must see it shed.
const NEVER_SHED = new Set(["/healthz", "/readyz", "/metrics"]);
// oidc-provider's endpoints answer machines: an OAuth error body, whatever the Accept header says.
const OAUTH_PATH = /^\/(token|me|auth|jwks|\.well-known)(\/|$)/;

const DESCRIPTION = "The server is busy; retry after the time in Retry-After.";

/**
 * Bounds the requests this process runs at once (`load.*`); beyond that, answers 503 with
 * Retry-After before any route runs, so a refused request has changed nothing.
 */
export function loadShedding(options: LoadSheddingOptions, deps: { views: Views; metrics: Metrics }): Middleware {
  const limit = createConcurrencyLimit(options);
  deps.metrics.watchLoad(limit);

  function refuse(ctx: Context, reason: Refusal) {
    deps.metrics.requestsShed.inc({ reason });
    ctx.set("Retry-After", String(options.retryAfterSeconds));
    ctx.set("Cache-Control", "no-store");
    if (OAUTH_PATH.test(ctx.path) || !ctx.accepts("html")) {
      // RFC 6749 §4.1.2.1: temporarily_unavailable.
      ctx.status = 503;
      ctx.body = { error: "temporarily_unavailable", error_description: DESCRIPTION };
      return;
    }
    deps.views.render(ctx, "errors/busy", { title: deps.views.textOf(ctx).t("sign-in:busy.title"), retryAfterSeconds: options.retryAfterSeconds }, 503);
  }

  return async (ctx, next) => {
    if (NEVER_SHED.has(ctx.path)) return next();
    const acquired = await limit.acquire();
    if (!acquired.ok) return refuse(ctx, acquired.reason);
    try {
      // The client gave up while it waited: its answer would go nowhere.
      if (ctx.req.socket.destroyed) {
        deps.metrics.requestsShed.inc({ reason: "client_gone" });
        ctx.respond = false;
        return;
      }
      await next();
    } finally {
      acquired.release();
    }
  };
}
