import type Router from "@koa/router";
import type { Context } from "koa";
import { ACR } from "../auth/assurance.js";
import { PASSWORD_MIN_LENGTH } from "../crypto/password.js";
import { AppError, forbidden } from "../errors.js";
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

  const showSetForm = (ctx: Context, user: { email: string; replacing: boolean }, error?: string) =>
    views.render(
      ctx,
      "account/password-set",
      {
        title: views.textOf(ctx).t(user.replacing ? "account:title.changePassword" : "account:title.addPassword"),
        ...user,
        minLength: PASSWORD_MIN_LENGTH,
        error,
      },
      error ? 400 : 200,
    );

  /**
   * "Add a password" (signUp.passwords "optional": a fallback where passkeys do not work) and
   * "Change your password", after the recent verification every change needs: a session cookie
   * alone cannot give an account a password its owner does not know.
   */
  router.post("/password/set", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const account = await deps.users.findUserById(session.userId);
    const user = { email: account?.email ?? "", replacing: Boolean(account?.passwordHash) };
    const passwordsOff = () => forbidden("account.passwords_off", "Accounts here sign in with passkeys only: a password cannot be added.");
    if (!user.replacing && !deps.passwordsOptional) throw passwordsOff();
    const body = ctx.request.body as Record<string, unknown> | undefined;
    if (body?.password === undefined) return showSetForm(ctx, user);
    const password = bodyField(body, "password");
    if (password !== bodyField(body, "confirm_password")) return showSetForm(ctx, user, views.textOf(ctx).t("account:passwordSet.mismatch"));
    let outcome: "added" | "changed" | "refused";
    try {
      // What happened is what the locked row says, not what the form was shown for (a removal may have run since).
      outcome = await deps.setPassword(session.userId, password, { allowFirst: deps.passwordsOptional });
    } catch (error) {
      if (error instanceof AppError && error.code.startsWith("users.password_")) return showSetForm(ctx, user, views.textOf(ctx).errorMessage(error));
      throw error;
    }
    if (outcome === "refused") throw passwordsOff();
    const changed = outcome === "changed";
    await pages.changed(ctx, session, changed ? "password.changed" : "password.added", changed ? "passwordChanged" : "passwordAdded");
    // Whoever knew the old password may hold a session: signing out the others comes first.
    await pages.show(ctx, session, views.textOf(ctx).t(changed ? "account:notices.passwordChanged" : "account:notices.passwordAdded"), true);
  });

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
