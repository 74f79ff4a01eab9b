import type Router from "@koa/router";
import { badRequest } from "../errors.js";
import { bodyField } from "../http/body-field.js";
import { hasBidiControl } from "../http/input-text.js";
import { defaultPasskeyName } from "../http/user-agent.js";
import { providerBeside } from "../webauthn/authenticator-names.js";
import { isStorableCredentialId } from "../webauthn/credential-id.js";
import { PASSKEY_HINTS, type PasskeyHint } from "../webauthn/passkey-service.js";
import type { AccountDependencies, AccountPages } from "./routes.js";

const MAX_NAME = 64;

/** A passkey name as typed: trimmed, 1 to 64 characters, no control characters. */
function passkeyName(value: string): string {
  const name = value.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (name.length === 0 || name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name) || hasBidiControl(name))
    throw badRequest("passkey.invalid_name", `Give the passkey a name of 1 to ${MAX_NAME} characters.`, { max: MAX_NAME });
  return name;
}

/** Passkeys on the account page: add (the WebAuthn ceremony, driven by passkey.js), rename, remove (after a confirmation page). */
export function passkeyRoutes(router: Router, deps: AccountDependencies, pages: AccountPages): void {
  const { access, views, passkeys } = deps;
  // One registration at a time per session; the challenge is bound to the user it was made for.
  const challengeKey = (sessionUid: string) => `account-passkey:${sessionUid}`;

  router.post("/passkeys/add", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (session) views.render(ctx, "account/passkey-add", { title: views.textOf(ctx).t("account:title.addPasskey") });
  });

  router.post("/passkey/register/options", async (ctx) => {
    const session = await access.recentlyVerifiedOrRefuse(ctx);
    const user = await deps.users.findUserById(session.userId);
    if (!user) throw badRequest("account.gone", "This account no longer exists.");
    const hint = (ctx.request.body as { hint?: unknown } | undefined)?.hint;
    if (hint !== undefined && !(PASSKEY_HINTS as readonly unknown[]).includes(hint))
      throw badRequest("passkey.invalid_hint", `hint must be one of ${PASSKEY_HINTS.join(", ")}`);
    ctx.body = await passkeys.registrationOptions(challengeKey(session.sessionUid), user, hint as PasskeyHint | undefined);
  });

  router.post("/passkey/register/verify", async (ctx) => {
    const session = await access.recentlyVerifiedOrRefuse(ctx);
    const name = defaultPasskeyName(ctx.get("User-Agent"));
    await passkeys.savePasskey(await passkeys.verifyRegistration(challengeKey(session.sessionUid), session.userId, ctx.request.body, name));
    await pages.changed(ctx, session, "passkey.added", "passkeyAdded");
    ctx.body = { redirectTo: "/account#passkeys" };
  });

  router.post("/passkeys/:id/rename", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const id = ctx.params.id ?? "";
    const name = passkeyName(bodyField(ctx.request.body, "name"));
    const renamed = isStorableCredentialId(id) ? (await deps.credentials.renameCredential(session.userId, id, name)).count : 0;
    const { t } = views.textOf(ctx);
    if (renamed === 0) {
      await pages.show(ctx, session, t("account:notices.passkeyGone"));
      return;
    }
    await pages.changed(ctx, session, "passkey.renamed", null);
    await pages.show(ctx, session, t("account:notices.passkeyRenamed", { name }));
  });

  router.post("/passkeys/:id/remove", async (ctx) => {
    const session = await access.recentlyVerified(ctx);
    if (!session) return;
    const id = ctx.params.id ?? "";
    const owned = await deps.credentials.listCredentialsOfUser(session.userId);
    const passkey = owned.find((credential) => credential.id === id);
    const { t } = views.textOf(ctx);
    if (!passkey) {
      await pages.show(ctx, session, t("account:notices.passkeyGone"));
      return;
    }
    const user = await deps.users.findUserById(session.userId);
    const confirmed = bodyField(ctx.request.body, "confirm");
    // The last passkey of an account with a password: only after a warning the user confirmed.
    if (owned.length === 1 && user?.passwordHash && confirmed !== "last-passkey") {
      views.render(ctx, "account/passkey-remove-last", { title: t("account:title.removeLastPasskey"), passkey });
      return;
    }
    // Any other passkey: only from the confirmation page naming it (a mis-click on the list removes nothing).
    if (confirmed !== "remove" && confirmed !== "last-passkey") {
      const authenticator = providerBeside(passkey);
      views.render(ctx, "account/passkey-remove", { title: t("account:title.removePasskey", { name: passkey.name }), passkey, authenticator });
      return;
    }
    const outcome = await deps.credentials.removeCredential(session.userId, id);
    if (outcome === "last_way_in") {
      views.render(ctx, "account/passkey-last-way-in", { title: t("account:title.lastWayIn"), passkey }, 409);
      return;
    }
    if (outcome === "not_found") {
      await pages.show(ctx, session, t("account:notices.passkeyGone"));
      return;
    }
    await pages.changed(ctx, session, "passkey.removed", "passkeyRemoved", undefined, { name: passkey.name });
    await pages.show(ctx, session, t("account:notices.passkeyRemoved", { name: passkey.name }), true);
  });
}
