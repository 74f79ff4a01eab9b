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

// What a page may say after a change: named in the redirect, worded here (nothing from the request is echoed).
const NOTICES: Record<string, string> = {
  app_updated: "The app was saved.",
  app_deleted: "The app was deleted with every token issued to it.",
  person_invited: "The invitation was mailed.",
  person_disabled: "The person was disabled and signed out everywhere.",
  person_enabled: "The person was enabled.",
  person_recovery: "A recovery link was mailed.",
  person_signed_out: "The person was signed out everywhere.",
  person_role: "The role was changed.",
  person_deleted: "The person was deleted.",
  group_created: "The group was created.",
  group_renamed: "The group was renamed.",
  group_deleted: "The group was deleted.",
  group_member_added: "The person was added to the group.",
  group_member_removed: "The person was removed from the group.",
};

/** What the console's sections share: a page in the console's frame, and a change's way back. */
export interface ConsolePages {
  render(ctx: Context, operator: Operator, template: string, data: Record<string, unknown>, status?: number): void;
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
      const notice = typeof ctx.query.notice === "string" ? (Object.hasOwn(NOTICES, ctx.query.notice) ? NOTICES[ctx.query.notice] : undefined) : undefined;
      views.render(ctx, `console/${template}`, { wide: true, operator, notice, ...data }, status);
    },
    done(ctx, path, notice) {
      ctx.status = 303;
      ctx.redirect(`${path}${path.includes("?") ? "&" : "?"}notice=${encodeURIComponent(notice)}`);
    },
  };

  router.get("/", async (ctx) => {
    const operator = await access.operator(ctx);
    if (operator) pages.render(ctx, operator, "overview", { title: "Console", section: "overview", stats: await deps.overview() });
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
