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
    const { t, language } = views.textOf(ctx);
    const email = await emailChange.request(session.userId, bodyField(ctx.request.body, "email"), requestOrigin(ctx), language);
    views.render(ctx, "account/email-sent", { title: t("account:title.checkInbox"), email });
  });

  router.post("/email/cancel", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const cancelled = await emailChange.cancel(session.userId, requestOrigin(ctx));
    const { t } = views.textOf(ctx);
    await pages.show(ctx, session, cancelled ? t("account:notices.emailCancelled") : t("account:notices.noEmailChange"));
  });

  // Opening the link changes nothing (mail scanners open links); the button on the page does.
  router.get("/email/confirm", async (ctx) => {
    const token = ctx.query.token;
    const email = await emailChange.pendingAddress(token);
    views.render(ctx, "account/email-confirm", { title: views.textOf(ctx).t("account:title.confirmEmail"), email, token });
  });

  router.post("/email/confirm", async (ctx) => {
    const { t, language } = views.textOf(ctx);
    const email = await emailChange.confirm(bodyField(ctx.request.body, "token"), requestOrigin(ctx), language);
    views.render(ctx, "account/email-changed", { title: t("account:title.emailChanged"), email });
  });
}
