import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import type { Logger } from "../logger.js";

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** The request target's path, read without a parser that can throw (the log line runs outside any handler). */
const pathOf = (target: string) =>
  target
    .replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "")
    .split("?")[0]
    ?.slice(0, 2048) || "/";

/**
 * Gives every request an id (kept from X-Request-Id when well-formed) and a child
 * logger, and logs one line per response. Only the path is logged: query strings
 * carry codes, states and tokens.
 */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get("X-Request-Id");
    const requestId = SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const started = performance.now();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ reqId: requestId });
    ctx.set("X-Request-Id", requestId);
    const path = pathOf(ctx.req.url ?? "");
    ctx.res.once("finish", () => {
      ctx.state.log.info({ method: ctx.method, path, status: ctx.res.statusCode, ms: Math.round(performance.now() - started) }, "request");
    });
    await next();
  };
}
