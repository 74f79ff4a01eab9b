import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import type { Context, Middleware } from "koa";
import type Provider from "oidc-provider";
import type { Actor, AuditLog } from "../audit/audit-log.js";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import { toSecurityEventView } from "../audit/security-event-log.js";
import type { ClientInput, ClientView } from "../clients/client-registry.js";
import type { AdminApiThrottle } from "../db/rate-limits.js";
import { AppError, badRequest } from "../errors.js";
import type { ClaimTarget, CustomClaimService } from "../groups/custom-claim-service.js";
import type { GroupService } from "../groups/group-service.js";
import type { UserAdmin } from "../users/user-admin.js";
import type { UserService } from "../users/user-service.js";
import type { Administration } from "./administration.js";
import { adminBearerAuth } from "./api-auth.js";
import { claimBody, clientCreateBody, clientUpdateBody, groupBody, invitationBody, parseBody, userUpdateBody } from "./api-schemas.js";
import type { Overview } from "./overview.js";

export interface AdminApiDependencies {
  provider: Provider;
  clients: { list(): Promise<ClientView[]>; show(id: string): Promise<ClientView> };
  users: UserService;
  userAdmin: UserAdmin;
  groups: Pick<GroupService, "list" | "show">;
  customClaims: Pick<CustomClaimService, "list">;
  administration: Administration;
  audit: AuditLog;
  events: Pick<SecurityEventLog, "query">;
  overview: Overview;
  throttle: AdminApiThrottle;
  bodyLimit: string;
}

const OAUTH_ERRORS: Record<number, string> = {
  400: "invalid_request",
  404: "not_found",
  409: "conflict",
  413: "invalid_request",
  415: "invalid_request",
  429: "too_many_requests",
};
const MAX_AUDIT_LIMIT = 1000;

// The client registry words its errors for the CLI; the API names its own fields instead.
const CLI_FLAGS_AS_FIELDS: [RegExp, string][] = [
  [/--post-logout-redirect-uri/g, "post_logout_redirect_uris"],
  [/--redirect-uri/g, "redirect_uris"],
  [/--backchannel-logout-uri/g, "backchannel_logout_uri"],
  [/--minimum-acr/g, "minimum_acr"],
  [/--access-token-ttl/g, "access_token_ttl"],
  [/--refresh-token-ttl/g, "refresh_token_ttl"],
  [/--access-token-format/g, "access_token_format"],
  [/--id-token-alg/g, "id_token_alg"],
  [/--allowed-groups/g, "allowed_groups"],
  [/--client-uri/g, "client_uri"],
  [/--logo-uri/g, "logo_uri"],
  [/--policy-uri/g, "policy_uri"],
  [/--tos-uri/g, "tos_uri"],
  [/--client-credentials/g, "client_credentials"],
  [/--scopes/g, "scopes"],
  [/--name/g, "client_name"],
];
const inApiTerms = (message: string) => CLI_FLAGS_AS_FIELDS.reduce((text, [flag, field]) => text.replace(flag, field), message);

/** Errors as OAuth-style JSON (`error`, `error_description`); 401/403 with their WWW-Authenticate challenge (RFC 6750 §3). */
const oauthErrors: Middleware = async (ctx, next) => {
  ctx.set("Cache-Control", "no-store");
  try {
    await next();
  } catch (caught) {
    const error = caught as Error & { status?: number; expose?: boolean };
    const status = error.status ?? 500;
    if (status >= 500) {
      ctx.state.log?.error({ err: error }, "admin API request failed");
      ctx.status = status;
      ctx.body = { error: "server_error", error_description: "Something went wrong on our side. Please try again." };
      return;
    }
    const code = error instanceof AppError && (status === 401 || status === 403) ? error.code : (OAUTH_ERRORS[status] ?? "invalid_request");
    const exposed = error instanceof AppError || error.expose === true;
    ctx.status = status;
    ctx.body = { error: code, error_description: exposed ? inApiTerms(error.message) : "The request could not be processed." };
    if (status === 401)
      ctx.set("WWW-Authenticate", `Bearer realm="admin"${code === "invalid_token" && ctx.get("Authorization") ? ', error="invalid_token"' : ""}`);
    if (status === 403) ctx.set("WWW-Authenticate", 'Bearer realm="admin", error="insufficient_scope", scope="admin"');
  }
};

/** A JSON object body on every write; anything else is a 400, not a guess. */
const jsonObjectBody: Middleware = async (ctx, next) => {
  if (ctx.method === "POST" || ctx.method === "PATCH") {
    if (ctx.request.length && !ctx.is("application/json")) throw new AppError("invalid_request", "Send the body as application/json.", 415);
    const body = ctx.request.body as unknown;
    if (ctx.request.length && (typeof body !== "object" || body === null || Array.isArray(body)))
      throw badRequest("invalid_request", "The request body must be a JSON object.");
  }
  await next();
};

/** The body's fields as the registry names them (absent stays absent: PATCH changes only what is sent). */
function clientChanges(body: ReturnType<typeof clientUpdateBody.parse>) {
  return {
    name: body.client_name,
    redirectUris: body.redirect_uris,
    postLogoutRedirectUris: body.post_logout_redirect_uris,
    firstParty: body.first_party,
    minimumAcr: body.minimum_acr,
    backchannelLogoutUri: body.backchannel_logout_uri,
    scopes: body.scopes,
    accessTokenSeconds: body.access_token_ttl,
    refreshTokenSeconds: body.refresh_token_ttl,
    accessTokenFormat: body.access_token_format,
    idTokenAlg: body.id_token_alg,
    allowedGroups: body.allowed_groups,
    clientUri: body.client_uri,
    logoUri: body.logo_uri,
    policyUri: body.policy_uri,
    tosUri: body.tos_uri,
  };
}

function toClientInput(body: ReturnType<typeof clientCreateBody.parse>): ClientInput {
  return {
    ...clientChanges(body),
    name: body.client_name,
    redirectUris: body.redirect_uris ?? [],
    public: body.public,
    clientCredentials: body.client_credentials,
  };
}

/** The filters the audit log and the security events share: since, limit, offset. */
function pageFilter(query: Context["query"]) {
  const text = (name: string) => (typeof query[name] === "string" ? (query[name] as string) : undefined);
  const limit = text("limit") === undefined ? 100 : Number(text("limit"));
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT)
    throw badRequest("invalid_request", `limit must be an integer from 1 to ${MAX_AUDIT_LIMIT}`);
  const offset = text("offset") === undefined ? 0 : Number(text("offset"));
  if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000) throw badRequest("invalid_request", "offset must be a whole number");
  const since = text("since") === undefined ? undefined : new Date(text("since") as string);
  if (since && Number.isNaN(since.getTime())) throw badRequest("invalid_request", "since must be an ISO 8601 time");
  return { text, since, limit, offset };
}

function auditFilter(query: Context["query"]) {
  const { text, ...page } = pageFilter(query);
  return { actor: text("actor"), actionPrefix: text("action"), targetId: text("target"), ...page };
}

/**
 * `/admin/api`: clients, users and the audit log as JSON, for an operator's machine client
 * (client_credentials, `admin` scope). Every change goes through the audited administration.
 */
export function adminApiRoutes(deps: AdminApiDependencies): Router {
  const router = new Router({ prefix: "/admin/api" });
  router.use(oauthErrors);
  router.use(adminBearerAuth(deps.provider, deps.throttle));
  router.use(
    bodyParser({
      enableTypes: ["json"],
      jsonLimit: deps.bodyLimit,
      onError: (error) => {
        if ((error as { status?: number }).status === 413) throw new AppError("invalid_request", `The request body is larger than ${deps.bodyLimit}.`, 413);
        throw badRequest("invalid_request", "The request body is not valid JSON.");
      },
    }),
  );
  router.use(jsonObjectBody);
  const admin = (ctx: Context) => deps.administration(ctx.state.actor as Actor);

  router.get("/clients", async (ctx) => {
    ctx.body = { clients: await deps.clients.list() };
  });
  router.post("/clients", async (ctx) => {
    ctx.status = 201;
    ctx.body = await admin(ctx).clients.create(toClientInput(parseBody(clientCreateBody, ctx.request.body)));
  });
  router.get("/clients/:id", async (ctx) => {
    ctx.body = await deps.clients.show(ctx.params.id as string);
  });
  router.patch("/clients/:id", async (ctx) => {
    const body = parseBody(clientUpdateBody, ctx.request.body);
    ctx.body = await admin(ctx).clients.update(ctx.params.id as string, clientChanges(body));
  });
  router.post("/clients/:id/secret", async (ctx) => {
    ctx.body = await admin(ctx).clients.rotateSecret(ctx.params.id as string);
  });
  router.delete("/clients/:id", async (ctx) => {
    await admin(ctx).clients.delete(ctx.params.id as string);
    ctx.status = 204;
  });

  router.get("/users", async (ctx) => {
    const { search, limit, offset } = ctx.query;
    if ([search, limit, offset].some((value) => Array.isArray(value))) throw badRequest("invalid_request", "search, limit and offset may each be given once");
    if (search === undefined && limit === undefined && offset === undefined) {
      ctx.body = { users: await deps.users.list() };
      return;
    }
    const whole = (value: string | undefined, name: string) => {
      if (value === undefined) return undefined;
      if (!/^\d{1,9}$/.test(value)) throw badRequest("invalid_request", `${name} must be a whole number`);
      return Number(value);
    };
    ctx.body = await deps.userAdmin.search({
      search: search as string | undefined,
      limit: whole(limit as string | undefined, "limit"),
      offset: whole(offset as string | undefined, "offset"),
    });
  });
  router.post("/users/invitations", async (ctx) => {
    const { email } = parseBody(invitationBody, ctx.request.body);
    const invitation = await admin(ctx).users.invite(email);
    ctx.status = 202;
    ctx.body = { email: invitation.email, expires_at: invitation.expiresAt.toISOString() };
  });
  router.get("/users/:id", async (ctx) => {
    ctx.body = await deps.userAdmin.show(ctx.params.id as string);
  });
  router.patch("/users/:id", async (ctx) => {
    ctx.body = await admin(ctx).users.update(ctx.params.id as string, parseBody(userUpdateBody, ctx.request.body));
  });
  router.post("/users/:id/disable", async (ctx) => {
    ctx.body = await admin(ctx).users.disable(ctx.params.id as string);
  });
  router.post("/users/:id/enable", async (ctx) => {
    ctx.body = await admin(ctx).users.enable(ctx.params.id as string);
  });
  router.post("/users/:id/sign-out", async (ctx) => {
    const { user, removed } = await admin(ctx).users.signOut(ctx.params.id as string);
    ctx.body = { user_id: user.id, removed };
  });
  router.post("/users/:id/recovery", async (ctx) => {
    const user = await deps.userAdmin.show(ctx.params.id as string);
    const issued = await admin(ctx).users.recover(user.email);
    ctx.status = 202;
    ctx.body = { email: issued.email, expires_at: issued.expiresAt.toISOString(), works_from: issued.waitUntil?.toISOString() ?? null };
  });
  router.delete("/users/:id", async (ctx) => {
    await admin(ctx).users.delete(ctx.params.id as string);
    ctx.status = 204;
  });

  router.get("/groups", async (ctx) => {
    ctx.body = { groups: await deps.groups.list() };
  });
  router.post("/groups", async (ctx) => {
    ctx.status = 201;
    ctx.body = await admin(ctx).groups.create(parseBody(groupBody, ctx.request.body).name);
  });
  router.get("/groups/:id", async (ctx) => {
    ctx.body = await deps.groups.show(ctx.params.id as string);
  });
  router.patch("/groups/:id", async (ctx) => {
    ctx.body = await admin(ctx).groups.rename(ctx.params.id as string, parseBody(groupBody, ctx.request.body).name);
  });
  router.delete("/groups/:id", async (ctx) => {
    await admin(ctx).groups.delete(ctx.params.id as string);
    ctx.status = 204;
  });
  router.put("/groups/:id/members/:user", async (ctx) => {
    const { group, added } = await admin(ctx).groups.addMember(ctx.params.id as string, ctx.params.user as string);
    ctx.status = added ? 201 : 200;
    ctx.body = group;
  });
  router.delete("/groups/:id/members/:user", async (ctx) => {
    const { removed } = await admin(ctx).groups.removeMember(ctx.params.id as string, ctx.params.user as string);
    if (!removed) throw new AppError("not_found", "That person is not a member of the group.", 404);
    ctx.status = 204;
  });
  // Custom claims, on a person (/users/{id or email}) or on a group (/groups/{name or id}).
  for (const [path, targetOf] of [
    ["users", (id: string): ClaimTarget => ({ user: id })],
    ["groups", (id: string): ClaimTarget => ({ group: id })],
  ] as const) {
    router.get(`/${path}/:id/claims`, async (ctx) => {
      ctx.body = { claims: await deps.customClaims.list(targetOf(ctx.params.id as string)) };
    });
    router.put(`/${path}/:id/claims/:name`, async (ctx) => {
      const { value } = parseBody(claimBody, ctx.request.body);
      ctx.body = { claims: await admin(ctx).claims.set(targetOf(ctx.params.id as string), ctx.params.name as string, value) };
    });
    router.delete(`/${path}/:id/claims/:name`, async (ctx) => {
      const { removed } = await admin(ctx).claims.unset(targetOf(ctx.params.id as string), ctx.params.name as string);
      if (!removed) throw new AppError("not_found", "There is no such claim.", 404);
      ctx.status = 204;
    });
  }

  router.get("/audit", async (ctx) => {
    ctx.body = { events: await deps.audit.query(auditFilter(ctx.query)) };
  });
  router.get("/events", async (ctx) => {
    const { text, ...page } = pageFilter(ctx.query);
    const user = text("user");
    const userId = user ? (await deps.userAdmin.show(user)).id : undefined;
    const rows = await deps.events.query({ userId, typePrefix: text("type"), ...page });
    ctx.body = { events: rows.map(toSecurityEventView) };
  });
  router.get("/overview", async (ctx) => {
    ctx.body = await deps.overview();
  });

  // Anything else under the prefix: a JSON 404 (after authentication), not the provider's HTML page.
  router.all("/{*rest}", () => {
    throw new AppError("not_found", "There is no such admin API endpoint.", 404);
  });

  return router;
}
