import type Router from "@koa/router";
import type { Context } from "koa";
import { AppError, badRequest } from "../errors.js";
import type { Operator } from "./console-access.js";
import { formOf, invalidField } from "./form.js";
import type { ConsoleDependencies, ConsolePages } from "./routes.js";

const PAGE_SIZE = 25;
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;

/** A page number from the query: 1 when absent, a 400 for anything but a small whole number. */
export function pageOf(ctx: Context): number {
  const page = ctx.query.page;
  if (page === undefined) return 1;
  if (typeof page !== "string" || !/^\d{1,6}$/.test(page) || Number(page) < 1)
    throw badRequest("console.invalid_field", "The page must be a whole number from 1.", { field: "page", context: "page" });
  return Number(page);
}

/** One query parameter as text: absent is "", a repeated one is refused. */
export function queryText(ctx: Context, name: string, label: string, max = 254): string {
  const value = ctx.query[name];
  if (value === undefined) return "";
  if (typeof value !== "string") throw invalidField(label, "query_repeated", "must be given once");
  if (value.length > max || /[\r\n]/.test(value)) throw invalidField(label, "query_too_long", `must be one line of at most ${max} characters`, { max });
  return value.trim();
}

// The user service's refusals a person's page shows in its own words (console:person.problems).
const PERSON_PROBLEMS: Record<string, string> = {
  "users.last_operator": "console:person.problems.last_operator",
  "users.invalid_role": "console:person.problems.invalid_role",
};

/** People: search, a person's page, and what operators do to an account (invite, disable, recover, sign out, role, delete). */
export function peopleRoutes(router: Router, deps: ConsoleDependencies, pages: ConsolePages): void {
  const { access, userAdmin } = deps;
  const admin = (operator: Operator) => deps.administration(operator.actor);

  function userIdOf(ctx: Context): string {
    const id = ctx.params.id as string;
    if (!USER_ID.test(id)) throw badRequest("console.invalid_field", "There is no such person.", { field: "id", context: "no_such_person" });
    return id;
  }

  async function showPerson(ctx: Context, operator: Operator, id: string, problem?: string) {
    const person = await userAdmin.show(id);
    const details = await deps.person({ userId: person.id, sessionUid: "", loginTs: 0, acr: undefined, amr: [] });
    pages.render(
      ctx,
      operator,
      "person",
      { title: person.email, section: "people", person, details, problem, self: person.id === operator.userId },
      problem ? 409 : 200,
    );
  }

  /** A change to one person: refusals of the user service the page words are shown on the person's page. */
  function personAction(path: string, notice: string, change: (operator: Operator, id: string, ctx: Context) => Promise<unknown>) {
    router.post(`/people/:id/${path}`, async (ctx) => {
      const id = userIdOf(ctx);
      const operator = await access.recentlyVerified(ctx, `/admin/people/${id}`);
      if (!operator) return;
      try {
        await change(operator, id, ctx);
      } catch (error) {
        const key = error instanceof AppError ? PERSON_PROBLEMS[error.code] : undefined;
        if (!key || !(error instanceof AppError)) throw error;
        await showPerson(ctx, operator, id, pages.textOf(ctx).t(key, { ...error.fields }));
        return;
      }
      pages.done(ctx, notice === "person_deleted" ? "/admin/people" : `/admin/people/${id}`, notice);
    });
  }

  router.get("/people", async (ctx) => {
    const operator = await access.operator(ctx);
    if (!operator) return;
    const search = queryText(ctx, "q", pages.textOf(ctx).t("console:people.searchName"));
    const page = pageOf(ctx);
    const found = await userAdmin.search({ search, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    const pageCount = Math.max(1, Math.ceil(found.total / PAGE_SIZE));
    pages.render(ctx, operator, "people", { title: pages.textOf(ctx).t("console:people.title"), section: "people", search, page, pageCount, ...found });
  });

  router.post("/people/invite", async (ctx) => {
    const operator = await access.recentlyVerified(ctx, "/admin/people");
    if (!operator) return;
    const email = formOf(ctx.request.body).text("email", pages.textOf(ctx).t("console:people.email"), 254);
    await admin(operator).users.invite(email);
    pages.done(ctx, "/admin/people", "person_invited");
  });

  router.get("/people/:id", async (ctx) => {
    const operator = await access.operator(ctx);
    if (operator) await showPerson(ctx, operator, userIdOf(ctx));
  });

  router.get("/people/:id/delete", async (ctx) => {
    const operator = await access.operator(ctx);
    if (!operator) return;
    const person = await userAdmin.show(userIdOf(ctx));
    pages.render(ctx, operator, "person-delete", {
      title: pages.textOf(ctx).t("console:person.deleteTitle", { email: person.email }),
      section: "people",
      person,
    });
  });

  personAction("disable", "person_disabled", (operator, id) => admin(operator).users.disable(id));
  personAction("enable", "person_enabled", (operator, id) => admin(operator).users.enable(id));
  personAction("sign-out", "person_signed_out", (operator, id) => admin(operator).users.signOut(id));
  personAction("delete", "person_deleted", (operator, id) => admin(operator).users.delete(id));
  personAction("recovery", "person_recovery", async (operator, id) => admin(operator).users.recover((await userAdmin.show(id)).email));
  personAction("role", "person_role", (operator, id, ctx) => {
    const role = formOf(ctx.request.body).text("role", pages.textOf(ctx).t("console:person.roleName"), 20);
    if (role !== "operator" && role !== "user")
      throw badRequest("console.invalid_field", "The role must be operator or user.", { field: "role", context: "role" });
    return admin(operator).users.update(id, { role });
  });
}
