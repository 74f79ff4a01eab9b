import type Router from "@koa/router";
import type { TFunction } from "i18next";
import type { Context } from "koa";
import type { ClientChanges, ClientView } from "../clients/client-registry.js";
import { ACCESS_TOKEN_FORMATS, ID_TOKEN_ALGS } from "../clients/client-rules.js";
import { badRequest } from "../errors.js";
import { clientProblem } from "./client-errors.js";
import type { Operator } from "./console-access.js";
import { type ConsoleForm, formOf, invalidField } from "./form.js";
import type { ConsoleDependencies, ConsolePages } from "./routes.js";

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LEVELS = ["none", "password", "mfa", "passkey"];

/** Empty: the server's lifetime (null); else whole seconds. */
function seconds(form: ConsoleForm, name: string, label: string): number | null {
  const value = form.text(name, label, 12);
  if (value === "") return null;
  if (!/^\d{1,9}$/.test(value)) throw invalidField(label, "not_seconds", "must be a whole number of seconds");
  return Number(value);
}

function choice(form: ConsoleForm, name: string, label: string, allowed: readonly string[]): string {
  const value = form.text(name, label, 40);
  if (!allowed.includes(value)) throw invalidField(label, "not_allowed", `must be one of ${allowed.join(", ")}`, { allowed: allowed.join(", ") });
  return value;
}

/** Every setting the edit form holds (all of them are always sent; a form without its marker is refused). */
function changesOf(form: ConsoleForm, t: TFunction): Required<ClientChanges> {
  const label = (setting: string) => t(`console:app.settingNames.${setting}`);
  if (form.text("form", label("form"), 10) !== "app")
    throw badRequest("console.invalid_field", "The form is incomplete: reload the page and try again.", { field: "form", context: "form_incomplete" });
  const minimumAcr = choice(form, "minimum_acr", label("minimumAcr"), LEVELS);
  const idTokenAlg = choice(form, "id_token_alg", label("idTokenAlg"), ["default", ...ID_TOKEN_ALGS]);
  const backchannel = form.text("backchannel_logout_uri", label("backchannelLogoutUri"), 2000);
  const scopes = form.words("scopes", label("scopes"));
  const groups = form.words("allowed_groups", label("allowedGroups"));
  return {
    name: form.text("name", label("name"), 200),
    redirectUris: form.lines("redirect_uris", label("redirectUris")),
    postLogoutRedirectUris: form.lines("post_logout_redirect_uris", label("postLogoutRedirectUris")),
    firstParty: form.flag("first_party", label("firstParty")),
    minimumAcr: minimumAcr === "none" ? null : minimumAcr,
    backchannelLogoutUri: backchannel === "" ? null : backchannel,
    scopes: scopes.length === 0 ? null : scopes,
    accessTokenSeconds: seconds(form, "access_token_ttl", label("accessTokenTtl")),
    refreshTokenSeconds: seconds(form, "refresh_token_ttl", label("refreshTokenTtl")),
    accessTokenFormat: choice(form, "access_token_format", label("accessTokenFormat"), ACCESS_TOKEN_FORMATS),
    idTokenAlg: idTokenAlg === "default" ? null : idTokenAlg,
    // None: everyone may use the app.
    allowedGroups: groups.length === 0 ? null : groups,
    // What the sign-in and consent pages show; empty clears it. A logo may be an inline data URL (32 KiB).
    clientUri: form.text("client_uri", label("clientUri"), 2000) || null,
    logoUri: form.text("logo_uri", label("logoUri"), 50_000) || null,
    policyUri: form.text("policy_uri", label("policyUri"), 2000) || null,
    tosUri: form.text("tos_uri", label("tosUri"), 2000) || null,
  };
}

/** What the form shows: a stored app, or what was typed when a change was refused. */
function formValues(client: ClientView | null, body?: unknown) {
  const sent = (body ?? {}) as Record<string, unknown>;
  const text = (name: string, fallback: string) => (typeof sent[name] === "string" ? (sent[name] as string) : fallback);
  const acr = client?.minimum_acr ? (client.minimum_acr.split(":").pop() ?? "none") : "none";
  return {
    name: text("name", client?.client_name ?? ""),
    redirect_uris: text("redirect_uris", client?.redirect_uris.join("\n") ?? ""),
    post_logout_redirect_uris: text("post_logout_redirect_uris", client?.post_logout_redirect_uris.join("\n") ?? ""),
    first_party: body ? sent.first_party !== undefined : (client?.first_party ?? false),
    public: body ? sent.public !== undefined : client?.client_type === "public",
    client_credentials: body ? sent.client_credentials !== undefined : (client?.grant_types.includes("client_credentials") ?? false),
    minimum_acr: text("minimum_acr", acr),
    backchannel_logout_uri: text("backchannel_logout_uri", client?.backchannel_logout_uri ?? ""),
    scopes: text("scopes", client?.scopes?.join(" ") ?? ""),
    access_token_ttl: text("access_token_ttl", client?.access_token_ttl?.toString() ?? ""),
    refresh_token_ttl: text("refresh_token_ttl", client?.refresh_token_ttl?.toString() ?? ""),
    access_token_format: text("access_token_format", client?.access_token_format ?? "opaque"),
    id_token_alg: text("id_token_alg", client?.id_token_alg ?? "default"),
    allowed_groups: text("allowed_groups", client?.allowed_groups.join(" ") ?? ""),
    client_uri: text("client_uri", client?.client_uri ?? ""),
    logo_uri: text("logo_uri", client?.logo_uri ?? ""),
    policy_uri: text("policy_uri", client?.policy_uri ?? ""),
    tos_uri: text("tos_uri", client?.tos_uri ?? ""),
  };
}

const options = { levels: LEVELS, formats: ACCESS_TOKEN_FORMATS, algs: ["default", ...ID_TOKEN_ALGS] };

/** Apps: list, create (the secret shown once), edit every setting the CLI has, rotate the secret, delete. */
export function appRoutes(router: Router, deps: ConsoleDependencies, pages: ConsolePages): void {
  const { access, clients } = deps;
  const admin = (operator: Operator) => deps.administration(operator.actor);

  function clientIdOf(ctx: Context): string {
    const id = ctx.params.id as string;
    if (!CLIENT_ID.test(id)) throw badRequest("console.invalid_field", "There is no such app.", { field: "id", context: "no_such_app" });
    return id;
  }

  /** Runs a registry change; a refusal it words for the form re-renders the form (400) with what was typed. */
  async function orForm<T>(
    ctx: Context,
    change: () => Promise<T>,
    refused: (problem: { message: string; canonical: string | null }) => void,
  ): Promise<T | undefined> {
    try {
      return await change();
    } catch (error) {
      const problem = clientProblem(error, pages.textOf(ctx));
      if (!problem || (error as { code?: string }).code === "clients.not_found") throw error;
      refused(problem);
      return undefined;
    }
  }

  router.get("/apps", async (ctx) => {
    const operator = await access.operator(ctx);
    if (operator) pages.render(ctx, operator, "apps", { title: pages.textOf(ctx).t("console:apps.title"), section: "apps", apps: await clients.list() });
  });

  router.get("/apps/new", async (ctx) => {
    const operator = await access.operator(ctx);
    if (operator)
      pages.render(ctx, operator, "app-new", { title: pages.textOf(ctx).t("console:app.newTitle"), section: "apps", values: formValues(null), options });
  });

  router.post("/apps", async (ctx) => {
    const operator = await access.recentlyVerified(ctx, "/admin/apps/new");
    if (!operator) return;
    const { t } = pages.textOf(ctx);
    const form = formOf(ctx.request.body);
    const changes = changesOf(form, t);
    const input = {
      ...changes,
      public: form.flag("public", t("console:app.settingNames.public")),
      clientCredentials: form.flag("client_credentials", t("console:app.settingNames.clientCredentials")),
    };
    const created = await orForm(
      ctx,
      () => admin(operator).clients.create(input),
      (problem) =>
        pages.render(
          ctx,
          operator,
          "app-new",
          { title: t("console:app.newTitle"), section: "apps", values: formValues(null, ctx.request.body), options, problem },
          400,
        ),
    );
    // The secret is on this page only: it is stored hashed, and the audit record never holds it.
    if (created) pages.render(ctx, operator, "app-secret", { title: t("console:app.createdTitle"), section: "apps", app: created, created: true });
  });

  router.get("/apps/:id", async (ctx) => {
    const operator = await access.operator(ctx);
    if (!operator) return;
    const app = await clients.show(clientIdOf(ctx));
    pages.render(ctx, operator, "app", { title: app.client_name, section: "apps", app, values: formValues(app), options });
  });

  router.post("/apps/:id", async (ctx) => {
    const id = clientIdOf(ctx);
    const operator = await access.recentlyVerified(ctx, `/admin/apps/${id}`);
    if (!operator) return;
    const changes = changesOf(formOf(ctx.request.body), pages.textOf(ctx).t);
    const app = await clients.show(id);
    const updated = await orForm(
      ctx,
      () => admin(operator).clients.update(id, changes),
      (problem) =>
        pages.render(ctx, operator, "app", { title: app.client_name, section: "apps", app, values: formValues(app, ctx.request.body), options, problem }, 400),
    );
    if (updated) pages.done(ctx, `/admin/apps/${id}`, "app_updated");
  });

  router.post("/apps/:id/secret", async (ctx) => {
    const id = clientIdOf(ctx);
    const operator = await access.recentlyVerified(ctx, `/admin/apps/${id}`);
    if (!operator) return;
    const rotated = await admin(operator).clients.rotateSecret(id);
    pages.render(ctx, operator, "app-secret", { title: pages.textOf(ctx).t("console:app.newSecretTitle"), section: "apps", app: rotated, created: false });
  });

  router.get("/apps/:id/delete", async (ctx) => {
    const operator = await access.operator(ctx);
    if (!operator) return;
    const app = await clients.show(clientIdOf(ctx));
    pages.render(ctx, operator, "app-delete", { title: pages.textOf(ctx).t("console:app.deleteTitle", { name: app.client_name }), section: "apps", app });
  });

  router.post("/apps/:id/delete", async (ctx) => {
    const id = clientIdOf(ctx);
    const operator = await access.recentlyVerified(ctx, `/admin/apps/${id}/delete`);
    if (!operator) return;
    await admin(operator).clients.delete(id);
    pages.done(ctx, "/admin/apps", "app_deleted");
  });
}
