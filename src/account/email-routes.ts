import type Router from "@koa/router";
import { bodyField } from "../http/body-field.js";
import { requestOrigin } from "../http/request-origin.js";
import type { AccountDependencies, AccountPages } from "./routes.js";

/** Email change on the account page: request (recent verification), then confirm by the mailed link. */
export function emailRoutes(router: Router, deps: AccountDependencies, pages: AccountPages): void {
  const { access, views, emailChange } = deps;

  router.post("/email", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const email = await emailChange.request(session.userId, bodyField(ctx.request.body, "email"), requestOrigin(ctx));
    views.render(ctx, "account/email-sent", { title: "Check your new inbox", email });
  });

  router.post("/email/cancel", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const cancelled = await emailChange.cancel(session.userId, requestOrigin(ctx));
    await pages.show(ctx, session, cancelled ? "The email change is cancelled; its link no longer works." : "There was no email change to cancel.");
  });

  // Opening the link changes nothing (mail scanners open links); the button on the page does.
  router.get("/email/confirm", async (ctx) => {
    const token = ctx.query.token;
    const email = await emailChange.pendingAddress(token);
    views.render(ctx, "account/email-confirm", { title: "Confirm your new email address", email, token });
  });

  router.post("/email/confirm", async (ctx) => {
    const email = await emailChange.confirm(bodyField(ctx.request.body, "token"), requestOrigin(ctx));
    views.render(ctx, "account/email-changed", { title: "Email address changed", email });
  });
}
