import type Router from "@koa/router";
import type { Context } from "koa";
import type { AccountOverview } from "../account/account-overview.js";
import type { Administration } from "../admin/administration.js";
import type { Overview } from "../admin/overview.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import type { FirstPartySignIn } from "../auth/first-party-sign-in.js";
import type { ClientView } from "../clients/client-registry.js";
import type { GroupService } from "../groups/group-service.js";
import { pageRouter } from "../http/page-router.js";
import type { Views } from "../http/views.js";
import type { PageText } from "../i18n/page-text.js";
import type { UserAdmin } from "../users/user-admin.js";
import { appRoutes } from "./app-routes.js";
import type { ConsoleAccess, Operator } from "./console-access.js";
import { groupRoutes } from "./group-routes.js";
import { logRoutes } from "./log-routes.js";
import { peopleRoutes } from "./people-routes.js";

export interface ConsoleDependencies {
  signIn: FirstPartySignIn;
  access: ConsoleAccess;
  overview: Overview;
  /** What the account page shows of a person (passkeys, factors, sessions, activity), for the person's page. */
  person: AccountOverview;
  clients: { list(): Promise<ClientView[]>; show(id: string): Promise<ClientView> };
  userAdmin: UserAdmin;
  groups: GroupService;
  administration: Administration;
  audit: AuditLog;
  events: SecurityEventLog;
  emailsOf: (ids: string[]) => Promise<{ id: string; email: string }[]>;
  views: Views;
  issuer: string;
  secureCookies: boolean;
  bodyLimit: string;
}

// What a page may say after a change: named in the redirect, worded in console:notice (nothing from the request is echoed).
const NOTICES = new Set([
  "app_updated",
  "app_deleted",
  "person_invited",
  "person_disabled",
  "person_enabled",
  "person_recovery",
  "person_signed_out",
  "person_role",
  "person_deleted",
  "group_created",
  "group_renamed",
  "group_deleted",
  "group_member_added",
  "group_member_removed",
]);

/** What the console's sections share: a page in the console's frame, and a change's way back. */
export interface ConsolePages {
  render(ctx: Context, operator: Operator, template: string, data: Record<string, unknown>, status?: number): void;
  /** The page's language, for titles and the problems a route words. */
  textOf(ctx: Context): PageText;
  /** After a change: back to `path`, with one of the page's fixed notices (never text from the request). */
  done(ctx: Context, path: string, notice: string): void;
}

/**
 * `/admin`: the operators' console. Signed in through the IdP's own authorization endpoint as the
 * built-in clients `idp-console` and `idp-console-passkey` (a passkey required), for operators only; every change needs a
 * recent passkey check and goes through `administration(operator)`, which audits it. The JSON API
 * under `/admin/api` is another router, mounted before this one; no route here matches it.
 */
export function consoleRoutes(deps: ConsoleDependencies): Router {
  const { views, access, signIn } = deps;
  const router = pageRouter("/admin", deps);

  const pages: ConsolePages = {
    render(ctx, operator, template, data, status = 200) {
      const { t } = views.textOf(ctx);
      const named = ctx.query.notice;
      const notice = typeof named === "string" && NOTICES.has(named) ? t(`console:notice.${named}`) : undefined;
      views.render(ctx, `console/${template}`, { wide: true, operator, notice, ...data }, status);
    },
    textOf: views.textOf,
    done(ctx, path, notice) {
      ctx.status = 303;
      ctx.redirect(`${path}${path.includes("?") ? "&" : "?"}notice=${encodeURIComponent(notice)}`);
    },
  };

  router.get("/", async (ctx) => {
    const operator = await access.operator(ctx);
    if (operator)
      pages.render(ctx, operator, "overview", { title: views.textOf(ctx).t("console:overview.title"), section: "overview", stats: await deps.overview() });
  });
  router.get("/signin", (ctx) => signIn.start(ctx, signIn.safeReturnPath(ctx.query.return)));
  router.get("/callback", async (ctx) => {
    ctx.status = 303;
    ctx.redirect(await signIn.callback(ctx));
  });

  appRoutes(router, deps, pages);
  peopleRoutes(router, deps, pages);
  groupRoutes(router, deps, pages);
  logRoutes(router, deps, pages);
  return router;
}
