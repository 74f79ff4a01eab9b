import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import { csrfProtection } from "./csrf.js";

export interface PageRouterOptions {
  issuer: string;
  secureCookies: boolean;
  bodyLimit: string;
}

/**
 * A router for the app's own pages under `prefix`: form and JSON bodies up to the limit, CSRF on
 * every state-changing request, and `Cache-Control: no-store` (pages carry tokens and personal data).
 */
export function pageRouter(prefix: string, options: PageRouterOptions): Router {
  const router = new Router({ prefix });
  router.use(bodyParser({ enableTypes: ["form", "json"], formLimit: options.bodyLimit, jsonLimit: options.bodyLimit }));
  router.use(csrfProtection({ issuer: options.issuer, secureCookies: options.secureCookies }));
  router.use(async (ctx, next) => {
    ctx.set("Cache-Control", "no-store");
    await next();
  });
  return router;
}
