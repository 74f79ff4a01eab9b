import type Router from "@koa/router";
import { ACR } from "../auth/assurance.js";
import { bodyField } from "../http/body-field.js";
import type { AccountDependencies, AccountPages } from "./routes.js";

/**
 * "Remove my password" (issue #16): for an account with two passkeys, or a passkey and an
 * authenticator app, after a fresh passkey verification (a stolen password session cannot drop
 * the password it knows to lock the owner into passkeys it does not have: it must pass a passkey).
 * Afterwards the password path answers as for any wrong password.
 */
export function passwordRoutes(router: Router, deps: AccountDependencies, pages: AccountPages): void {
  const { access, views } = deps;

  router.post("/password/remove", async (ctx) => {
    const session = await access.recentlyVerified(ctx, ACR.passkey);
    if (!session) return;
    const { t } = views.textOf(ctx);
    if (bodyField(ctx.request.body, "confirm") !== "remove") {
      views.render(ctx, "account/password-remove", { title: t("account:title.removePassword") });
      return;
    }
    const outcome = await deps.users.removePassword(session.userId);
    if (outcome === "not_enough") {
      await pages.show(ctx, session, t("account:notices.passwordNotEnough"));
      return;
    }
    if (outcome === "removed") await pages.changed(ctx, session, "password.removed", "passwordRemoved");
    await pages.show(ctx, session, t("account:notices.passwordRemoved"), true);
  });
}
