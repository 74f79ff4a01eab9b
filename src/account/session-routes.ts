import type Router from "@koa/router";
import { isBuiltInClient } from "../auth/built-in-clients.js";
import type { AccountDependencies, AccountPages } from "./routes.js";

// Session uids and client ids as they appear in our forms; anything else is not one of the user's.
const SESSION_UID = /^[A-Za-z0-9_-]{1,64}$/;
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/** Sessions and connected apps on the account page: sign a device out, everywhere else, or revoke an app's access. */
export function sessionRoutes(router: Router, deps: AccountDependencies, pages: AccountPages): void {
  const { access } = deps;

  router.post("/sessions/sign-out-others", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    await deps.signOutEverywhere(session.userId, session.sessionUid);
    await pages.changed(ctx, session, "session.signed_out_others", "othersSignedOut");
    await pages.show(ctx, session, deps.views.textOf(ctx).t("account:notices.othersSignedOut"));
  });

  router.post("/sessions/:uid/sign-out", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const uid = ctx.params.uid ?? "";
    // Only the user's own sessions match; someone else's uid signs nothing out.
    const ended = SESSION_UID.test(uid) && (await deps.signOutSession(session.userId, uid));
    const { t } = deps.views.textOf(ctx);
    if (!ended) {
      await pages.show(ctx, session, t("account:notices.sessionEnded"));
      return;
    }
    await pages.changed(ctx, session, "session.signed_out", null, { current: uid === session.sessionUid ? 1 : 0 });
    if (uid === session.sessionUid) {
      ctx.status = 303;
      ctx.redirect("/account/signed-out");
      return;
    }
    await pages.show(ctx, session, t("account:notices.deviceSignedOut"));
  });

  router.get("/signed-out", (ctx) => deps.views.render(ctx, "account/signed-out", { title: deps.views.textOf(ctx).t("account:title.signedOut") }));

  router.post("/apps/:clientId/revoke", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const clientId = ctx.params.clientId ?? "";
    const grantIds =
      CLIENT_ID.test(clientId) && !isBuiltInClient(clientId) ? await deps.oidcPayloads.revokeGrantsOfAccountClient(session.userId, clientId) : [];
    // Other processes drop cached tokens of those grants at once.
    for (const grantId of grantIds) await deps.invalidate({ grantId });
    const { t } = deps.views.textOf(ctx);
    if (grantIds.length === 0) {
      await pages.show(ctx, session, t("account:notices.noAccessToRevoke"));
      return;
    }
    await pages.changed(ctx, session, "app.access_revoked", null, { clientId });
    await pages.show(ctx, session, t("account:notices.accessRevoked"));
  });
}
