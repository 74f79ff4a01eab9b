import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepExpired } from "../../src/oidc/expiry-sweeper.js";
import { BrowserSession } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

// Issue #5: the admin HTTP API (client_credentials + `admin` scope), its audit log, and the client
// flags for allowed scopes and token lifetimes.
describe("admin API", () => {
  let server: TestServer;
  let adminClient: { clientId: string; clientSecret: string };
  let adminToken: string;

  async function machineToken(client: { clientId: string; clientSecret: string }, scope?: string) {
    const response = await tokenRequest(server.issuer, { grant_type: "client_credentials", ...(scope ? { scope } : {}) }, client);
    return response;
  }

  async function createMachineClient(scopes?: string[]) {
    const created = await server.services.clients.create({ name: "Operations", redirectUris: [], clientCredentials: true, scopes });
    return { clientId: created.client_id, clientSecret: created.client_secret as string };
  }

  async function api(method: string, path: string, body?: unknown, token: string | null = adminToken, contentType = "application/json") {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = contentType;
    const response = await fetch(`${server.issuer}/admin/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  }

  const logLines: string[] = [];

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { logLines });
    adminClient = await createMachineClient(["admin"]);
    const issued = await machineToken(adminClient, "admin");
    expect(issued.status).toBe(200);
    expect(issued.body.scope).toBe("admin");
    adminToken = issued.body.access_token as string;
  });
  afterAll(() => server?.stop());

  it("answers 401 with a Bearer challenge without a token, or with one it did not issue for client_credentials", async () => {
    const missing = await api("GET", "/clients", undefined, null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="admin"');
    expect(missing.body).toMatchObject({ error: "invalid_token", error_description: expect.any(String) });

    const forged = await api("GET", "/clients", undefined, "not-a-token");
    expect(forged.status).toBe(401);
    expect(forged.headers.get("www-authenticate")).toBe('Bearer realm="admin", error="invalid_token"');

    // A user's access token is not an operator's, whatever it carries.
    const rp = await registerRelyingParty(server);
    await createUser(server, "admin-api-user@example.com");
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession(), "admin-api-user@example.com");
    expect((await api("GET", "/clients", undefined, tokens.access_token)).status).toBe(401);
    const basic = await fetch(`${server.issuer}/admin/api/clients`, { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } });
    expect(basic.status).toBe(401);
  });

  it("answers 403 insufficient_scope to a machine client without the admin scope, and 401 once the scope is taken away (its tokens are revoked)", async () => {
    const plain = await createMachineClient();
    const plainToken = (await machineToken(plain)).body.access_token as string;
    const refused = await api("GET", "/users", undefined, plainToken);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "insufficient_scope" });
    expect(refused.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    // Without `admin` among its scopes, a client cannot even ask for it.
    expect((await machineToken(plain, "admin")).body).toMatchObject({ error: "invalid_scope" });

    const revoked = await createMachineClient(["admin"]);
    const token = (await machineToken(revoked, "admin")).body.access_token as string;
    expect((await api("GET", "/users", undefined, token)).status).toBe(200);
    await server.services.clients.update(revoked.clientId, { scopes: null });
    // Narrowing the client's scopes revokes its tokens: the admin token is gone at once.
    const afterwards = await api("GET", "/users", undefined, token);
    expect(afterwards.status).toBe(401);
    expect(afterwards.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("refuses malformed bodies with 400 invalid_request and a description", async () => {
    const cases: [string, unknown, string?][] = [
      ["not json", "{nope", "application/json"],
      ["an array", [], undefined],
      ["a string", '"text"', "application/json"],
      ["no name", { redirect_uris: ["https://app.example.com/cb"] }, undefined],
      ["a wrong type", { client_name: "App", redirect_uris: "https://app.example.com/cb" }, undefined],
      ["an unknown field", { client_name: "App", redirect_uris: ["https://app.example.com/cb"], colour: "blue" }, undefined],
      ["a bad redirect URI", { client_name: "App", redirect_uris: ["http://app.example.com/cb"] }, undefined],
      ["an unknown scope", { client_name: "App", redirect_uris: ["https://app.example.com/cb"], scopes: ["superuser"] }, undefined],
      ["admin for a browser app", { client_name: "App", redirect_uris: ["https://app.example.com/cb"], scopes: ["openid", "admin"] }, undefined],
      ["a too-short token lifetime", { client_name: "App", redirect_uris: ["https://app.example.com/cb"], access_token_ttl: 5 }, undefined],
    ];
    for (const [label, body, type] of cases) {
      const response = await api("POST", "/clients", body, adminToken, type);
      expect(response.status, label).toBe(400);
      expect(response.body, label).toMatchObject({ error: "invalid_request", error_description: expect.any(String) });
    }
    // Messages name the API's fields, not the CLI's flags.
    const badUri = await api("POST", "/clients", { client_name: "App", redirect_uris: ["http://app.example.com/cb"] });
    expect(badUri.body.error_description).toBe(
      'redirect_uris "http://app.example.com/cb" must use https (plain http is allowed only for localhost, 127.0.0.1 and [::1])',
    );
    const noUri = await api("POST", "/clients", { client_name: "App" });
    expect(noUri.body.error_description).toContain("at least one redirect_uris is required (or client_credentials");
    const form = await api("POST", "/clients", "client_name=App", adminToken, "application/x-www-form-urlencoded");
    expect(form.status).toBe(415);
    expect(form.body.error).toBe("invalid_request");
    expect((await api("GET", "/clients/no-such-client")).body).toMatchObject({ error: "not_found" });
    expect((await api("GET", "/audit?limit=0")).status).toBe(400);
    const huge = await api("POST", "/clients", { client_name: "x".repeat(200_000), redirect_uris: [] });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe("invalid_request");
    const unknown = await api("GET", "/nothing/here");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: "not_found" });
    expect((await api("GET", "/nothing/here", undefined, null)).status).toBe(401);
    expect((await api("PUT", "/clients")).status).toBe(404);
    expect((await server.services.clients.list()).filter((client) => client.client_name === "App")).toHaveLength(0);
  });

  it("creates, updates, rotates and deletes clients, each with an audit record (who, what, when, before/after, IP)", async () => {
    const created = await api("POST", "/clients", {
      client_name: "Billing",
      redirect_uris: ["https://billing.example.com/cb"],
      first_party: true,
      scopes: ["openid", "email"],
      access_token_ttl: 120,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ client_name: "Billing", first_party: true, scopes: ["openid", "email"], access_token_ttl: 120 });
    const id = created.body.client_id as string;
    const secret = created.body.client_secret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await api("GET", "/clients")).body.clients.map((client: { client_id: string }) => client.client_id)).toContain(id);

    const updated = await api("PATCH", `/clients/${id}`, { client_name: "Billing app", scopes: null, refresh_token_ttl: 3600 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ client_name: "Billing app", scopes: null, refresh_token_ttl: 3600 });
    const rotated = await api("POST", `/clients/${id}/secret`);
    expect(rotated.body.client_secret).not.toBe(secret);
    expect((await api("DELETE", `/clients/${id}`)).status).toBe(204);
    expect((await api("GET", `/clients/${id}`)).status).toBe(404);

    const audit = (await api("GET", `/audit?target=${id}`)).body.events as Record<string, unknown>[];
    expect(audit.map((event) => event.action)).toEqual(["client.deleted", "client.secret_rotated", "client.updated", "client.created"]);
    for (const event of audit) {
      expect(event).toMatchObject({ actor: `client:${adminClient.clientId}`, target_type: "client", target_id: id, ip: expect.stringMatching(/127\.0\.0\.1/) });
      expect(new Date(event.at as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
    }
    const update = audit.find((event) => event.action === "client.updated") as { before: { client_name: string }; after: { client_name: string } };
    expect(update.before.client_name).toBe("Billing");
    expect(update.after.client_name).toBe("Billing app");
    // Secrets never reach the audit log, nor its log lines (one JSON line per change, for log shippers).
    expect(JSON.stringify(audit)).not.toContain(secret);
    expect(JSON.stringify(audit)).not.toContain(rotated.body.client_secret);
    const lines = logLines.filter((line) => line.includes('"audit event"') && line.includes(id)).map((line) => JSON.parse(line));
    expect(lines.map((line) => line.auditEvent)).toEqual(["client.created", "client.updated", "client.secret_rotated", "client.deleted"]);
    expect(lines[0]).toMatchObject({ actor: `client:${adminClient.clientId}`, targetType: "client" });
    expect(logLines.join("\n")).not.toContain(secret);
    expect(logLines.join("\n")).not.toContain(rotated.body.client_secret);
  });

  it("sets and clears a client's ID token algorithm, and refuses another naming the field (issue #14)", async () => {
    const created = await api("POST", "/clients", { client_name: "RS256 app", redirect_uris: ["https://rs.example.com/cb"], id_token_alg: "RS256" });
    expect(created).toMatchObject({ status: 201, body: { id_token_alg: "RS256" } });
    const id = created.body.client_id as string;
    expect((await api("PATCH", `/clients/${id}`, { id_token_alg: null })).body.id_token_alg).toBeNull();
    const refusals: [string, unknown, number, string][] = [
      ["another algorithm", "HS256", 400, 'id_token_alg must be ES256 or RS256, or default (got "HS256")'],
      ["none", "none", 400, 'id_token_alg must be ES256 or RS256, or default (got "none")'],
      ["the wrong case", "rs256", 400, 'id_token_alg must be ES256 or RS256, or default (got "rs256")'],
      ["a CRLF", "RS256\r\n", 400, "id_token_alg must be ES256 or RS256, or default"],
      ["a NUL", "RS256\u0000", 400, "The request's body contains a NUL character"],
      ["an array", ["RS256"], 400, "id_token_alg: Invalid input: expected string, received array"],
      ["a 100 KB value", "R".repeat(100_000), 413, "The request body is too large."],
    ];
    for (const [label, value, status, message] of refusals) {
      const response = await api("PATCH", `/clients/${id}`, { id_token_alg: value });
      expect({ status: response.status, error: response.body.error }, label).toEqual({ status, error: "invalid_request" });
      expect(response.body.error_description, label).toContain(message);
    }
    // Nothing half-written: the refused changes left the client as it was.
    expect((await api("GET", `/clients/${id}`)).body.id_token_alg).toBeNull();
  });

  it("sets and clears a client's access token format, audited, and refuses anything but opaque or jwt naming the field (issue #13)", async () => {
    const created = await api("POST", "/clients", { client_name: "Worker", client_credentials: true, access_token_format: "jwt" });
    expect(created).toMatchObject({ status: 201, body: { access_token_format: "jwt" } });
    const id = created.body.client_id as string;
    expect((await api("GET", `/clients/${id}`)).body.access_token_format).toBe("jwt");
    expect((await api("PATCH", `/clients/${id}`, { access_token_format: "opaque" })).body.access_token_format).toBe("opaque");
    expect((await api("PATCH", `/clients/${id}`, { access_token_format: "jwt" })).body.access_token_format).toBe("jwt");
    expect((await api("PATCH", `/clients/${id}`, { access_token_format: null })).body.access_token_format).toBe("opaque");
    expect((await api("POST", "/clients", { client_name: "Web", redirect_uris: ["https://web.example.com/cb"] })).body.access_token_format).toBe("opaque");

    const refusals: [string, unknown, number, string][] = [
      ["another format", "paseto", 400, 'access_token_format must be opaque or jwt (got "paseto")'],
      ["the wrong case", "JWT", 400, 'access_token_format must be opaque or jwt (got "JWT")'],
      ["a NUL", "jwt\u0000", 400, "The request's body contains a NUL character"],
      ["an array", ["jwt"], 400, "access_token_format: Invalid input: expected string, received array"],
      ["a number", 1, 400, "access_token_format: Invalid input: expected string, received number"],
      ["an object", { format: "jwt" }, 400, "access_token_format: Invalid input: expected string, received object"],
      ["a 10 KB value", "j".repeat(10_000), 400, "access_token_format: Too big: expected string to have <=20 characters"],
      ["a 100 KB value", "j".repeat(100_000), 413, "The request body is too large."],
    ];
    for (const [label, value, status, message] of refusals) {
      const response = await api("PATCH", `/clients/${id}`, { access_token_format: value });
      expect(response.status, label).toBe(status);
      expect(response.body.error, label).toBe("invalid_request");
      expect(response.body.error_description, label).toContain(message);
      expect(JSON.stringify(response.body).length, label).toBeLessThan(500);
    }
    expect((await api("POST", "/clients", { client_name: "Worker", client_credentials: true, access_token_format: "jwe" })).status).toBe(400);
    expect((await api("GET", `/clients/${id}`)).body.access_token_format).toBe("opaque");

    const audit = (await api("GET", `/audit?target=${id}`)).body.events as {
      action: string;
      before?: { access_token_format: string };
      after: { access_token_format: string };
    }[];
    expect(audit.map((event) => [event.action, event.before?.access_token_format, event.after.access_token_format])).toEqual([
      ["client.updated", "jwt", "opaque"],
      ["client.updated", "opaque", "jwt"],
      ["client.updated", "jwt", "opaque"],
      ["client.created", undefined, "jwt"],
    ]);
    expect((await api("DELETE", `/clients/${id}`)).status).toBe(204);
  });

  it("disables, enables, signs out and deletes users, audited; a disabled user's tokens stop working", async () => {
    const rp = await registerRelyingParty(server);
    const userId = await createUser(server, "managed@example.com");
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession(), "managed@example.com");

    const listed = (await api("GET", "/users")).body.users as { email: string }[];
    expect(listed.map((user) => user.email)).toContain("managed@example.com");
    expect((await api("GET", "/users/managed@example.com")).body).toMatchObject({ id: userId, passkeys: 0, totp: false });

    const disabled = await api("POST", `/users/${userId}/disable`);
    expect(disabled.body).toMatchObject({ id: userId, disabled: true });
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    expect((await api("POST", `/users/${userId}/enable`)).body).toMatchObject({ disabled: false });
    expect((await api("POST", `/users/${userId}/sign-out`)).body).toMatchObject({ user_id: userId });
    expect((await api("DELETE", `/users/${userId}`)).status).toBe(204);
    expect(await server.services.userQueries.findUserById(userId)).toBeNull();
    expect((await api("POST", `/users/${userId}/disable`)).status).toBe(404);

    const audit = (await api("GET", `/audit?target=${userId}`)).body.events as { action: string; before: { disabled: boolean } | null }[];
    expect(audit.map((event) => event.action)).toEqual(["user.deleted", "user.signed_out", "user.enabled", "user.disabled"]);
    expect(audit.find((event) => event.action === "user.disabled")?.before?.disabled).toBe(false);
    expect((await api("GET", "/audit?action=user.&limit=2")).body.events).toHaveLength(2);
  });

  it("keeps `admin` out of user sign-ins and applies per-client token lifetimes", async () => {
    const rp = await registerRelyingParty(server);
    const start = await authorizationRequest(rp, { scope: "openid admin" });
    const refused = await new BrowserSession().get(start.url.toString());
    expect(new URL(refused.location as string).searchParams.get("error")).toBe("invalid_scope");

    await server.services.clients.update(rp.clientId, { accessTokenSeconds: 120, refreshTokenSeconds: 900 });
    await createUser(server, "lifetimes@example.com");
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession(), "lifetimes@example.com");
    expect(tokens.expires_in).toBe(120);
    const introspection = await oidc.tokenIntrospection(rp.config, tokens.refresh_token as string);
    expect((introspection.exp as number) - (introspection.iat as number)).toBe(900);
  });

  it("keeps security events and audit records for their retention, then the sweep removes them", async () => {
    const db = server.services.db;
    const days = (n: number) => new Date(Date.now() - n * 86_400_000);
    await db.securityEvent.createMany({
      data: [
        { type: "retention.old", outcome: "success", createdAt: days(401) },
        { type: "retention.kept", outcome: "success", createdAt: days(399) },
      ],
    });
    await db.auditEvent.createMany({
      data: [
        { actor: "test", action: "retention.old", targetType: "client", createdAt: days(731) },
        { actor: "test", action: "retention.kept", targetType: "client", createdAt: days(729) },
      ],
    });
    const swept = await sweepExpired(server.services, { sessionMaxSeconds: server.config.ttl.keepSignedInSeconds, retention: server.config.retention });
    expect(swept).toMatchObject({ securityEvents: 1, auditEvents: 1 });
    expect((await db.securityEvent.findMany({ where: { type: { startsWith: "retention." } } })).map((e) => e.type)).toEqual(["retention.kept"]);
    expect((await db.auditEvent.findMany({ where: { action: { startsWith: "retention." } } })).map((e) => e.action)).toEqual(["retention.kept"]);
  });
});

describe("admin API allowance", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("pglite", { throttle: { adminRequestsPerMinute: 3 } });
  });
  afterAll(() => server?.stop());

  it("answers 429 too_many_requests once a client used its requests for the minute, and counts changes in /metrics", async () => {
    const created = await server.services.clients.create({ name: "Ops", redirectUris: [], clientCredentials: true, scopes: ["admin"] });
    const issued = await tokenRequest(
      server.issuer,
      { grant_type: "client_credentials", scope: "admin" },
      { clientId: created.client_id, clientSecret: created.client_secret as string },
    );
    const headers = { authorization: `Bearer ${issued.body.access_token}`, "content-type": "application/json" };
    const listUsers = () => fetch(`${server.issuer}/admin/api/users`, { headers });
    const invite = await fetch(`${server.issuer}/admin/api/users/invitations`, {
      method: "POST",
      headers,
      body: JSON.stringify({ email: "invited@example.com" }),
    });
    expect(invite.status).toBe(202);
    expect((await listUsers()).status).toBe(200);
    expect((await listUsers()).status).toBe(200);
    const refused = await listUsers();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: "too_many_requests", error_description: expect.stringContaining("Try again in 1 minute") });
    const exposition = await server.services.metrics.registry.metrics();
    expect(exposition).toContain('idp_admin_changes_total{action="user.invited"} 1');
  });
});
