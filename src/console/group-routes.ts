import type Router from "@koa/router";
import type { Context } from "koa";
import { AppError, badRequest } from "../errors.js";
import type { Operator } from "./console-access.js";
import { formOf, invalidField } from "./form.js";
import type { ConsoleDependencies, ConsolePages } from "./routes.js";

// A group's id or name (the person's page links by name).
const GROUP_ID = /^[A-Za-z0-9._-]{1,64}$/;
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;

// The group service's refusals a group's page shows, worded in errors:groups (its messages name the CLI's flags).
const GROUP_PROBLEMS = new Set(["groups.in_use", "groups.name_taken", "groups.invalid_name"]);

/** Groups: create, rename, delete; add and remove members; which apps each group may use. */
export function groupRoutes(router: Router, deps: ConsoleDependencies, pages: ConsolePages): void {
  const { access, groups } = deps;
  const admin = (operator: Operator) => deps.administration(operator.actor);

  function groupIdOf(ctx: Context): string {
    const id = ctx.params.id as string;
    if (!GROUP_ID.test(id)) throw badRequest("console.invalid_field", "There is no such group.", { field: "id", context: "no_such_group" });
    return id;
  }

  /** Runs a change; a refusal the console words is shown on `page` (409/400), anything else goes to the error page. */
  async function orProblem(ctx: Context, change: () => Promise<unknown>, page: (problem: string, status: number) => Promise<void>) {
    try {
      await change();
      return true;
    } catch (error) {
      if (!(error instanceof AppError) || !GROUP_PROBLEMS.has(error.code)) throw error;
      await page(pages.textOf(ctx).errorMessage(error), error.status);
      return false;
    }
  }

  async function showGroup(ctx: Context, operator: Operator, id: string, problem?: string, status = 200) {
    const group = await groups.show(id);
    pages.render(
      ctx,
      operator,
      "group",
      { title: pages.textOf(ctx).t("console:group.title", { name: group.name }), section: "groups", group, problem },
      status,
    );
  }

  async function showList(ctx: Context, operator: Operator, problem?: string, status = 200) {
    pages.render(
      ctx,
      operator,
      "groups",
      { title: pages.textOf(ctx).t("console:groups.title"), section: "groups", groups: await groups.list(), problem },
      status,
    );
  }

  router.get("/groups", async (ctx) => {
    const operator = await access.operator(ctx);
    if (operator) await showList(ctx, operator);
  });

  router.post("/groups", async (ctx) => {
    const operator = await access.recentlyVerified(ctx, "/admin/groups");
    if (!operator) return;
    const name = formOf(ctx.request.body).text("name", pages.textOf(ctx).t("console:groups.name"), 64);
    if (
      await orProblem(
        ctx,
        () => admin(operator).groups.create(name),
        (problem, status) => showList(ctx, operator, problem, status),
      )
    )
      pages.done(ctx, "/admin/groups", "group_created");
  });

  router.get("/groups/:id", async (ctx) => {
    const operator = await access.operator(ctx);
    if (operator) await showGroup(ctx, operator, groupIdOf(ctx));
  });

  router.post("/groups/:id/rename", async (ctx) => {
    const id = groupIdOf(ctx);
    const operator = await access.recentlyVerified(ctx, `/admin/groups/${id}`);
    if (!operator) return;
    const name = formOf(ctx.request.body).text("name", pages.textOf(ctx).t("console:groups.name"), 64);
    if (
      await orProblem(
        ctx,
        () => admin(operator).groups.rename(id, name),
        (problem, status) => showGroup(ctx, operator, id, problem, status),
      )
    )
      pages.done(ctx, `/admin/groups/${id}`, "group_renamed");
  });

  router.post("/groups/:id/members", async (ctx) => {
    const id = groupIdOf(ctx);
    const operator = await access.recentlyVerified(ctx, `/admin/groups/${id}`);
    if (!operator) return;
    const field = pages.textOf(ctx).t("console:group.emailName");
    const email = formOf(ctx.request.body).text("email", field, 254);
    if (email === "") throw invalidField(field, "required", "is required");
    await admin(operator).groups.addMember(id, email);
    pages.done(ctx, `/admin/groups/${id}`, "group_member_added");
  });

  router.post("/groups/:id/members/:userId/remove", async (ctx) => {
    const id = groupIdOf(ctx);
    const userId = ctx.params.userId as string;
    if (!USER_ID.test(userId)) throw badRequest("console.invalid_field", "There is no such person.", { field: "userId", context: "no_such_person" });
    const operator = await access.recentlyVerified(ctx, `/admin/groups/${id}`);
    if (!operator) return;
    await admin(operator).groups.removeMember(id, userId);
    pages.done(ctx, `/admin/groups/${id}`, "group_member_removed");
  });

  router.get("/groups/:id/delete", async (ctx) => {
    const operator = await access.operator(ctx);
    if (!operator) return;
    const group = await groups.show(groupIdOf(ctx));
    pages.render(ctx, operator, "group-delete", { title: pages.textOf(ctx).t("console:group.deleteTitle", { name: group.name }), section: "groups", group });
  });

  router.post("/groups/:id/delete", async (ctx) => {
    const id = groupIdOf(ctx);
    const operator = await access.recentlyVerified(ctx, `/admin/groups/${id}/delete`);
    if (!operator) return;
    if (
      await orProblem(
        ctx,
        () => admin(operator).groups.delete(id),
        (problem, status) => showGroup(ctx, operator, id, problem, status),
      )
    )
      pages.done(ctx, "/admin/groups", "group_deleted");
  });
}
