import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { movableClock } from "../helpers/movable-clock.js";
import { authorizationRequest, createUser, PASSWORD, RP_CALLBACK, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

// Issue #13: per-client RFC 9068 JWT access tokens for the APIs in RESOURCE_SERVERS (RFC 8707).
const API = "https://api.example.com";
const OTHER_API = "https://orders.example.com/v1";

type Client = { clientId: string; clientSecret: string };

const basic = (client: Client) => `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`;

async function form(url: string, params: Record<string, string>, client: Client) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(client) },
    body: new URLSearchParams(params),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> | null };
}

describe.each(DATABASE_KINDS)("JWT access tokens (%s)", (kind) => {
  const clock = movableClock();
  let server: TestServer;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  let endpoints: { introspection_endpoint: string; revocation_endpoint: string; userinfo_endpoint: string; jwks_uri: string };

  const payloadRows = () => server.database.prisma.oidcPayload.count();

  async function machineClient(options: { format?: string; scopes?: string[]; accessTokenSeconds?: number } = {}): Promise<Client> {
    const created = await server.services.clients.create({
      name: "Machine",
      redirectUris: [],
      clientCredentials: true,
      scopes: options.scopes,
      accessTokenFormat: options.format,
      accessTokenSeconds: options.accessTokenSeconds,
    });
    return { clientId: created.client_id, clientSecret: created.client_secret as string };
  }

  const clientCredentials = (client: Client, params: Record<string, string> = {}) =>
    tokenRequest(server.issuer, { grant_type: "client_credentials", ...params }, client);

  beforeAll(async () => {
    server = await startTestServer(kind, {}, { env: { RESOURCE_SERVERS: `${API} ${OTHER_API}` }, now: clock.now });
    endpoints = await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json();
    jwks = createLocalJWKSet((await (await fetch(endpoints.jwks_uri)).json()) as JSONWebKeySet);
  });
  afterAll(() => server?.stop());

  it("issues a jwt client's client_credentials token for a resource server as an RFC 9068 JWT, verifiable with the JWKS, writing no row", async () => {
    const client = await machineClient({ format: "jwt", scopes: ["email", "profile"] });
    const before = await payloadRows();
    const issued = await clientCredentials(client, { resource: API, scope: "email" });
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: "Bearer", expires_in: 600, scope: "email" });
    expect(await payloadRows()).toBe(before);

    const token = issued.body.access_token as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: "at+jwt", alg: "ES256", kid: expect.any(String) });
    const { payload } = await jwtVerify(token, jwks, { issuer: server.issuer, audience: API, typ: "at+jwt" });
    expect(Object.keys(payload).sort()).toEqual(["aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"]);
    expect(payload).toMatchObject({ iss: server.issuer, aud: API, sub: client.clientId, client_id: client.clientId, scope: "email" });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(30);
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{21,}$/);
  });

  it("keeps the client's own lifetime, and never puts admin, openid or unknown scopes into a resource server's token", async () => {
    const client = await machineClient({ format: "jwt", scopes: ["openid", "email"], accessTokenSeconds: 120 });
    const issued = await clientCredentials(client, { resource: OTHER_API, scope: "openid email orders:write" });
    expect(issued).toMatchObject({ status: 200, body: { expires_in: 120, scope: "email" } });
    const { payload } = await jwtVerify(issued.body.access_token as string, jwks, { issuer: server.issuer, audience: OTHER_API, typ: "at+jwt" });
    expect(payload.scope).toBe("email");
    expect((payload.exp as number) - (payload.iat as number)).toBe(120);

    // The admin API's scope stays on its opaque, revocable tokens; a JWT never carries it.
    const operator = await machineClient({ format: "jwt", scopes: ["admin"] });
    const forApi = await clientCredentials(operator, { resource: API, scope: "admin" });
    expect(forApi.status).toBe(200);
    expect(forApi.body.scope).toBeUndefined();
    const admin = await fetch(`${server.issuer}/admin/api/clients`, { headers: { authorization: `Bearer ${forApi.body.access_token}` } });
    expect(admin.status).toBe(401);
    const opaque = await clientCredentials(operator, { scope: "admin" });
    expect(opaque).toMatchObject({ status: 200, body: { scope: "admin" } });
    expect((await fetch(`${server.issuer}/admin/api/clients`, { headers: { authorization: `Bearer ${opaque.body.access_token}` } })).status).toBe(200);
  });

  it("answers what oidc-provider does for a JWT at introspection, revocation and userinfo: refused, never active", async () => {
    const client = await machineClient({ format: "jwt", scopes: ["email"] });
    const token = (await clientCredentials(client, { resource: API })).body.access_token as string;

    // The resource server verifies the signature itself; there is no row to look up or delete.
    expect(await form(endpoints.introspection_endpoint, { token }, client)).toEqual({
      status: 400,
      body: { error: "unsupported_token_type", error_description: "Structured JWT Tokens cannot be introspected via the introspection_endpoint" },
    });
    expect(await form(endpoints.revocation_endpoint, { token }, client)).toEqual({
      status: 400,
      body: { error: "unsupported_token_type", error_description: "Structured JWT Tokens cannot be revoked via the revocation_endpoint" },
    });
    const userinfo = await fetch(endpoints.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } });
    expect(userinfo.status).toBe(401);
    expect(userinfo.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await userinfo.json()).toEqual({ error: "invalid_token", error_description: "invalid token provided" });
  });

  it("leaves an opaque client unchanged: a stored token, introspectable by its client, audience-bound when asked for a resource server", async () => {
    const client = await machineClient({ scopes: ["email"] });
    const before = await payloadRows();
    const plain = await clientCredentials(client, { scope: "email" });
    expect(plain).toMatchObject({ status: 200, body: { expires_in: 600, scope: "email" } });
    const plainToken = plain.body.access_token as string;
    expect(() => decodeProtectedHeader(plainToken)).toThrow();
    expect(await payloadRows()).toBe(before + 1);
    const introspected = await form(endpoints.introspection_endpoint, { token: plainToken }, client);
    expect(introspected).toMatchObject({ status: 200, body: { active: true, client_id: client.clientId, scope: "email", token_type: "Bearer" } });
    expect(introspected.body?.aud).toBeUndefined();

    const forApi = await clientCredentials(client, { resource: API, scope: "email" });
    expect(forApi.status).toBe(200);
    expect(() => decodeProtectedHeader(forApi.body.access_token as string)).toThrow();
    expect(await payloadRows()).toBe(before + 2);
    expect(await form(endpoints.introspection_endpoint, { token: forApi.body.access_token as string }, client)).toMatchObject({
      status: 200,
      body: { active: true, aud: API, client_id: client.clientId },
    });
    expect(await form(endpoints.revocation_endpoint, { token: plainToken }, client)).toEqual({ status: 200, body: null });
    expect(await form(endpoints.introspection_endpoint, { token: plainToken }, client)).toEqual({ status: 200, body: { active: false } });
  });

  it("issues a jwt client's token without `resource` opaque as before, and refuses a resource server that is not configured", async () => {
    const client = await machineClient({ format: "jwt", scopes: ["email"] });
    const plain = await clientCredentials(client, { scope: "email" });
    expect(plain.status).toBe(200);
    expect(() => decodeProtectedHeader(plain.body.access_token as string)).toThrow();
    for (const resource of ["https://evil.example.com", "https://api.example.com/", "not a uri", `${API}#x`]) {
      const refused = await clientCredentials(client, { resource });
      expect(refused.status, resource).toBe(400);
      expect(refused.body.error, resource).toBe("invalid_target");
    }
    const twice = await fetch(`${server.issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(client) },
      body: `grant_type=client_credentials&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(OTHER_API)}`,
    });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toBe("invalid_target");
    // Hostile values: answered 4xx with a clear error, never 500, and nothing issued.
    for (const [label, resource, status, error] of [
      ["a NUL", `${API}\u0000`, 400, "invalid_request"],
      ["100 KB", `${API}/${"a".repeat(100_000)}`, 413, undefined],
      ["10 KB", `${API}/${"a".repeat(10_000)}`, 400, "invalid_target"],
    ] as const) {
      const refused = await fetch(`${server.issuer}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(client) },
        body: new URLSearchParams({ grant_type: "client_credentials", resource }),
      });
      expect(refused.status, label).toBe(status);
      if (error) expect(((await refused.json()) as { error: string }).error, label).toBe(error);
    }
  });

  it("issues a signed-in user's access token for a resource server as a JWT (sub: the user), while userinfo keeps its opaque token", async () => {
    const userId = await createUser(server, `jwt-user-${kind}@example.com`);
    const rp = await registerRelyingParty(server);
    await server.services.clients.update(rp.clientId, { accessTokenFormat: "jwt" });
    const client = { clientId: rp.clientId, clientSecret: rp.clientSecret as string };
    const { callbackUrl, start } = await signIn(server, rp, new BrowserSession(), { resource: API }, `jwt-user-${kind}@example.com`);
    const issued = await tokenRequest(
      server.issuer,
      {
        grant_type: "authorization_code",
        code: callbackUrl.searchParams.get("code") as string,
        redirect_uri: RP_CALLBACK,
        code_verifier: start.codeVerifier,
        resource: API,
      },
      client,
    );
    expect(issued.status).toBe(200);
    const { payload } = await jwtVerify(issued.body.access_token as string, jwks, { issuer: server.issuer, audience: API, typ: "at+jwt" });
    expect(payload).toMatchObject({ sub: userId, client_id: client.clientId, scope: "email profile" });
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);

    // The refresh token (stored, revocable) gets an opaque token for userinfo when no resource is named.
    const refreshed = await tokenRequest(server.issuer, { grant_type: "refresh_token", refresh_token: issued.body.refresh_token as string }, client);
    expect(refreshed.status).toBe(200);
    const userinfoToken = refreshed.body.access_token as string;
    expect(() => decodeProtectedHeader(userinfoToken)).toThrow();
    const userinfo = await fetch(endpoints.userinfo_endpoint, { headers: { authorization: `Bearer ${userinfoToken}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: userId });
  });

  it("names the resource server and what it may do on the consent page", async () => {
    const email = `consent-${kind}@example.com`;
    await createUser(server, email);
    const rp = await registerRelyingParty(server);
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp, { resource: API });
    let page = await browser.follow(start.url.toString(), server.issuer);
    const login = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await browser.follow(login, server.issuer, await browser.postForm(login, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD }));
    if (page.text.includes("/passkey/skip")) {
      const skip = new URL(formActionOf(page.text, "/passkey/skip"), server.issuer).toString();
      page = await browser.follow(skip, server.issuer, await browser.postForm(skip, { _csrf: csrfTokenOf(page.text) }));
    }
    expect(page.text).toContain("/consent");
    expect(page.text).toContain(`<li>Give <strong>${API}</strong> access as you: See your email address; See your name and username</li>`);
  });

  it("applies a change of format to the next token (the client cache forgets the client; across instances: multi-instance-clients)", async () => {
    const client = await machineClient({ scopes: ["email"] });
    const isJwt = async () => {
      const issued = await clientCredentials(client, { resource: API });
      expect(issued.status).toBe(200);
      return (issued.body.access_token as string).split(".").length === 3;
    };
    expect(await isJwt()).toBe(false);
    await server.services.clients.update(client.clientId, { accessTokenFormat: "jwt" });
    expect(await isJwt()).toBe(true);
    await server.services.clients.update(client.clientId, { accessTokenFormat: null });
    expect(await isJwt()).toBe(false);
  });

  // Last: it rotates the signing keys (the suite's JWKS above was fetched before).
  it("signs with the provider's current key through a rotation; the JWKS verifies tokens from before and after", async () => {
    const client = await machineClient({ format: "jwt" });
    const issue = async () => (await clientCredentials(client, { resource: API })).body.access_token as string;
    const before = await issue();
    const oldKid = decodeProtectedHeader(before).kid;
    const [newKey] = (await server.services.signingKeys.rotate()).filter((key) => key.alg === "ES256");
    expect(decodeProtectedHeader(await issue()).kid).toBe(oldKid);
    clock.move(server.config.keys.publishDelaySeconds);
    const after = await issue();
    expect(decodeProtectedHeader(after).kid).toBe(newKey?.kid);
    const keySet = createLocalJWKSet((await (await fetch(endpoints.jwks_uri)).json()) as JSONWebKeySet);
    for (const token of [before, after]) {
      await expect(jwtVerify(token, keySet, { issuer: server.issuer, audience: API, typ: "at+jwt" })).resolves.toBeTruthy();
    }
  });
});

describe("without RESOURCE_SERVERS", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite");
  });
  afterAll(() => server?.stop());

  it("ignores a resource parameter, as before the feature: an opaque token without audience, even for a jwt client", async () => {
    const created = await server.services.clients.create({ name: "Machine", redirectUris: [], clientCredentials: true, accessTokenFormat: "jwt" });
    const client = { clientId: created.client_id, clientSecret: created.client_secret as string };
    const issued = await tokenRequest(server.issuer, { grant_type: "client_credentials", resource: API }, client);
    expect(issued.status).toBe(200);
    const token = issued.body.access_token as string;
    expect(() => decodeProtectedHeader(token)).toThrow();
    const introspected = await form(`${server.issuer}/token/introspection`, { token }, client);
    expect(introspected).toMatchObject({ status: 200, body: { active: true, client_id: client.clientId } });
    expect(introspected.body?.aud).toBeUndefined();
  });
});
