import type Router from "@koa/router";
import type { Context } from "koa";
import { badRequest } from "../errors.js";
import { pageOf, queryText } from "./people-routes.js";
import type { ConsoleDependencies, ConsolePages } from "./routes.js";

const PAGE_SIZE = 50;

function sinceOf(ctx: Context, pages: ConsolePages): Date | undefined {
  const text = queryText(ctx, "since", pages.textOf(ctx).t("console:sinceName"), 40);
  if (text === "") return undefined;
  const since = new Date(text);
  if (Number.isNaN(since.getTime()))
    throw badRequest("console.invalid_field", `Since must be a time such as 2026-11-23T10:00:00Z (got "${text}").`, {
      field: "since",
      context: "since",
      value: text,
    });
  return since;
}

/** The audit log and the security events, with the CLI's filters, newest first, a page at a time. */
export function logRoutes(router: Router, deps: ConsoleDependencies, pages: ConsolePages): void {
  const { access } = deps;

  router.get("/audit", async (ctx) => {
    const operator = await access.operator(ctx);
    if (!operator) return;
    const { t } = pages.textOf(ctx);
    const filter = {
      actor: queryText(ctx, "actor", t("console:audit.actor")),
      action: queryText(ctx, "action", t("console:audit.actionColumn")),
      target: queryText(ctx, "target", t("console:audit.targetColumn")),
    };
    const since = sinceOf(ctx, pages);
    const page = pageOf(ctx);
    // One more than a page: whether there is a next one.
    const rows = await deps.audit.query({
      actor: filter.actor || undefined,
      actionPrefix: filter.action || undefined,
      targetId: filter.target || undefined,
      since,
      limit: PAGE_SIZE + 1,
      offset: (page - 1) * PAGE_SIZE,
    });
    const operatorIds = [...new Set(rows.map((row) => row.actor).filter((actor) => actor.startsWith("operator:")))].map((actor) => actor.slice(9));
    const emails = new Map((await deps.emailsOf(operatorIds)).map((user) => [`operator:${user.id}`, user.email]));
    pages.render(ctx, operator, "audit", {
      title: t("console:audit.title"),
      section: "audit",
      filter: { ...filter, since: since?.toISOString() ?? "" },
      page,
      more: rows.length > PAGE_SIZE,
      entries: rows.slice(0, PAGE_SIZE).map((row) => ({ ...row, actorEmail: emails.get(row.actor) ?? null })),
    });
  });

  router.get("/events", async (ctx) => {
    const operator = await access.operator(ctx);
    if (!operator) return;
    const { t } = pages.textOf(ctx);
    const filter = { user: queryText(ctx, "user", t("console:events.personColumn")), type: queryText(ctx, "type", t("console:events.typeColumn")) };
    const since = sinceOf(ctx, pages);
    const page = pageOf(ctx);
    const userId = filter.user ? (await deps.userAdmin.show(filter.user)).id : undefined;
    const rows = await deps.events.query({ userId, typePrefix: filter.type || undefined, since, limit: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE });
    pages.render(ctx, operator, "events", {
      title: t("console:events.title"),
      section: "events",
      filter: { ...filter, since: since?.toISOString() ?? "" },
      page,
      more: rows.length > PAGE_SIZE,
      entries: rows.slice(0, PAGE_SIZE),
    });
  });
}
