import type { Context } from "koa";
import { badRequest } from "../errors.js";
import { clientSetting } from "../oidc/client-setting.js";
import { scopeLabelsIn } from "../oidc/scope-labels.js";
import { appOnPage } from "./app-on-page.js";
import { finishInteraction, type InteractionDetails } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";

interface MissingGrant {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** Consent: first-party clients (an operator's flag) are approved without asking; the decision is stored in the Grant either way. */
export function consentStep({ provider, views }: Pick<InteractionDependencies, "provider" | "views">) {
  // panva's example consent handler: add what the prompt says is missing to the (new or existing) grant.
  async function approve(ctx: Context, details: InteractionDetails) {
    const { accountId } = details.session ?? {};
    if (!accountId) throw badRequest("interaction.no_session", "Sign in first.");
    const clientId = String(details.params.client_id);
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) throw badRequest("interaction.grant_missing", "This approval has expired. Go back to the app and start again.");
    const missing = details.prompt.details as MissingGrant;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(" "));
    }
    const grantId = await grant.save();
    await finishInteraction(ctx, details, { consent: { grantId } }, true);
  }

  return {
    async show(ctx: Context, details: InteractionDetails) {
      const client = await provider.Client.find(String(details.params.client_id));
      if (clientSetting(client, "idp_first_party") === true) return approve(ctx, details);
      const missing = details.prompt.details as MissingGrant;
      const { t } = views.textOf(ctx);
      const app = appOnPage(client, t);
      const clientName = app?.name ?? String(details.params.client_id);
      const scopeLabel = scopeLabelsIn(t);
      views.render(
        ctx,
        "interactions/consent",
        {
          title: t("sign-in:titles.allowAccess"),
          heading: t("common:signInTo", { app: clientName }),
          logo: app?.logo,
          app,
          uid: details.uid,
          clientName,
          scopes: (missing.missingOIDCScope ?? []).map(scopeLabel),
          claims: missing.missingOIDCClaims ?? [],
          // RFC 8707: the APIs that will get a token naming the user, and what it lets them do.
          resources: Object.entries(missing.missingResourceScopes ?? {}).map(([indicator, scopes]) => ({ indicator, scopes: scopes.map(scopeLabel) })),
        },
        200,
        { imageOrigins: app?.imageOrigins },
      );
    },

    submit: approve,
  };
}
