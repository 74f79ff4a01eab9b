// Black-box re-expressions of OpenID conformance modules (oidcc-basic / config / RP-initiated logout).
import * as oidc from "openid-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, type PageResponse } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import {
  authorizationRequest,
  completeInteraction,
  createUser,
  type RelyingParty,
  RP_CALLBACK,
  RP_LOGOUT_CALLBACK,
  registerRelyingParty,
  signIn,
  signInAndRedeem,
} from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

describe("OpenID conformance behaviours", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let userId: string;

  beforeAll(async () => {
    server = await startTestServer("pglite", { caches: { accountSeconds: 0, clientSeconds: 10 } });
    rp = await registerRelyingParty(server);
    userId = await createUser(server);
  });
  afterAll(() => server?.stop());
  afterEach(restoreClock);

  /** Follows an authorization request in a signed-in browser without interacting; returns the callback parameters. */
  async function silent(browser: BrowserSession, extra: Record<string, string>) {
    const start = await authorizationRequest(rp, extra);
    const response = await browser.follow(start.url.toString(), server.issuer);
    return { start, response, params: response.location?.startsWith(RP_CALLBACK) ? new URL(response.location).searchParams : null };
  }

  const redeem = (callback: URLSearchParams, start: Awaited<ReturnType<typeof authorizationRequest>>, nonce: string | undefined = start.nonce) =>
    oidc.authorizationCodeGrant(rp.config, new URL(`${RP_CALLBACK}?${callback}`), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: nonce,
    });

  it("uses only 302/303 redirects, never 307 (§5)", async () => {
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    const statuses: number[] = [];
    const original = browser.request.bind(browser);
    browser.request = async (url, init) => {
      const response = await original(url, init);
      statuses.push(response.status);
      return response;
    };
    await completeInteraction(browser, server, start.url.toString());
    const redirects = statuses.filter((status) => status >= 300 && status < 400);
    expect(redirects.length).toBeGreaterThan(2);
    expect(redirects.filter((status) => status !== 302 && status !== 303)).toEqual([]);
  });

  it("succeeds without a nonce, and ignores unknown parameters and ui hints", async () => {
    const { callbackUrl, start } = await signIn(server, rp, new BrowserSession(), {
      nonce: "",
      unknown_param: "ignored",
      display: "page",
      ui_locales: "fr-CA fr en",
      claims_locales: "de",
      login_hint: "alice@example.com",
    });
    const tokens = await oidc.authorizationCodeGrant(rp.config, callbackUrl, { pkceCodeVerifier: start.codeVerifier, expectedState: start.state });
    expect(tokens.claims()?.sub).toBe(userId);
    expect(tokens.claims()?.nonce).toBeUndefined();
  });

  it("serves userinfo by GET, by POST with the header, and by POST with the token in the body", async () => {
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const expected = { sub: userId, email: "alice@example.com", name: "Alice" };
    const viaGet = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await viaGet.json()).toMatchObject(expected);
    const viaPostHeader = await fetch(`${server.issuer}/me`, { method: "POST", headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await viaPostHeader.json()).toMatchObject(expected);
    const viaPostBody = await fetch(`${server.issuer}/me`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `access_token=${tokens.access_token}`,
    });
    expect(await viaPostBody.json()).toMatchObject(expected);
  });

  it("releases only the claims of the granted scopes, and honours an essential claims request", async () => {
    const browser = new BrowserSession();
    const { callbackUrl, start } = await signIn(server, rp, browser, { scope: "openid", claims: JSON.stringify({ id_token: { email: { essential: true } } }) });
    const tokens = await redeem(callbackUrl.searchParams, start);
    expect(tokens.claims()?.email).toBe("alice@example.com");
    const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, userId);
    expect(userinfo).not.toHaveProperty("email");
    expect(userinfo).not.toHaveProperty("name");
  });

  it("returns acr when acr_values is requested", async () => {
    const { callbackUrl, start } = await signIn(server, rp, new BrowserSession(), { acr_values: "urn:idp:acr:password" });
    expect((await redeem(callbackUrl.searchParams, start)).claims()?.acr).toBe("urn:idp:acr:password");
  });

  it("prompt=none: login_required when signed out; silent with the same sub and auth_time when signed in", async () => {
    const signedOut = await silent(new BrowserSession(), { prompt: "none" });
    expect(signedOut.params?.get("error")).toBe("login_required");
    expect(signedOut.params?.get("iss")).toBe(server.issuer);

    const browser = new BrowserSession();
    const first = await signInAndRedeem(server, rp, browser);
    const again = await silent(browser, { prompt: "none" });
    expect(again.params?.get("code")).toBeTruthy();
    const tokens = await redeem(again.params as URLSearchParams, again.start);
    expect(tokens.claims()?.sub).toBe(first.tokens.claims()?.sub);
    expect(tokens.claims()?.auth_time).toBe(first.tokens.claims()?.auth_time);

    // id_token_hint with prompt=none for the signed-in user answers silently too.
    const hinted = await silent(browser, { prompt: "none", id_token_hint: first.tokens.id_token as string });
    expect(hinted.params?.get("code")).toBeTruthy();
  });

  it("prompt=login and max_age=1 force a new sign-in with a later auth_time; max_age=10000 does not", async () => {
    const browser = new BrowserSession();
    const first = await signInAndRedeem(server, rp, browser);
    const firstAuthTime = first.tokens.claims()?.auth_time as number;
    // A minute later: past max_age=1, within max_age=10000.
    moveClock(60);

    // No prompt: offline_access needs prompt=consent (OIDC Core §11) and is dropped, the rest was
    // granted at the first sign-in, so the code comes back without a page.
    const relaxed = await silent(browser, { max_age: "10000", prompt: "" });
    expect(relaxed.params?.get("code")).toBeTruthy();
    expect((await redeem(relaxed.params as URLSearchParams, relaxed.start)).claims()?.auth_time).toBe(firstAuthTime);

    // max_age first: prompt=login would make the last authentication too recent for it.
    for (const extra of [{ max_age: "1" }, { prompt: "login" }] as Record<string, string>[]) {
      const start = await authorizationRequest(rp, extra);
      const page: PageResponse = await browser.follow(start.url.toString(), server.issuer);
      expect(page.text).toContain('name="password"');
      const final = await completeInteraction(browser, server, start.url.toString());
      const tokens = await redeem(new URL(final.location as string).searchParams, start);
      expect(tokens.claims()?.auth_time).toBeGreaterThan(firstAuthTime);
    }
  });

  // Request objects are off (discovery: request_parameter_supported and request_uri_parameter_supported
  // false), so OIDC Core §6.1/§6.2 (errors in §3.1.2.6) name the errors; the client and its
  // redirect_uri are valid, so they go back to it (RFC 6749 §4.1.2.1) with state and iss (RFC 9207).
  it("refuses request objects with request_not_supported and request_uri with request_uri_not_supported", async () => {
    const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    const payload = Buffer.from(JSON.stringify({ client_id: rp.clientId, redirect_uri: RP_CALLBACK, scope: "openid", response_type: "code" })).toString(
      "base64url",
    );
    for (const [extra, error] of [
      [{ request: `${header}.${payload}.` }, "request_not_supported"],
      [{ request_uri: "https://evil.example/request.jwt" }, "request_uri_not_supported"],
    ] as const) {
      const start = await authorizationRequest(rp, extra);
      const response = await new BrowserSession().get(start.url.toString());
      expect(response.status).toBe(303);
      const callback = new URL(response.location as string);
      expect(`${callback.origin}${callback.pathname}`).toBe(RP_CALLBACK);
      expect(Object.fromEntries(callback.searchParams)).toMatchObject({ error, state: start.state, iss: server.issuer });
      expect(callback.searchParams.has("code")).toBe(false);
    }
  });

  it("refuses refresh tokens once the account is disabled, and its userinfo (§9)", async () => {
    const other = await server.services.users.create({ email: "disabled@example.com", password: "correct horse battery staple" });
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    const final = await completeInteraction(browser, server, start.url.toString(), "disabled@example.com");
    const tokens = await redeem(new URL(final.location as string).searchParams, start);
    await server.database.prisma.user.update({ where: { id: other.id }, data: { disabledAt: new Date() } });
    await expect(oidc.fetchUserInfo(rp.config, tokens.access_token, other.id)).rejects.toMatchObject({ status: 401 });
    const refreshed = await tokenRequest(server.issuer, { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string }, rp);
    expect(refreshed).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  describe("RP-initiated logout", () => {
    async function signedInWithIdToken() {
      const browser = new BrowserSession();
      const { tokens } = await signInAndRedeem(server, rp, browser);
      return { browser, idToken: tokens.id_token as string };
    }

    it.each([
      ["an unregistered post_logout_redirect_uri", (t: string) => ({ id_token_hint: t, post_logout_redirect_uri: "https://evil.example/out" })],
      ["a query-extended post_logout_redirect_uri", (t: string) => ({ id_token_hint: t, post_logout_redirect_uri: `${RP_LOGOUT_CALLBACK}?x=1` })],
      ["a tampered id_token_hint", (t: string) => ({ post_logout_redirect_uri: RP_LOGOUT_CALLBACK, id_token_hint: `${t.slice(0, -4)}AAAA` })],
      [
        "an alg=none id_token_hint",
        (t: string) => {
          const [, body] = t.split(".");
          return { post_logout_redirect_uri: RP_LOGOUT_CALLBACK, id_token_hint: `${Buffer.from('{"alg":"none"}').toString("base64url")}.${body}.` };
        },
      ],
    ])("refuses %s on an error page, without redirecting", async (_label, params) => {
      const { browser, idToken } = await signedInWithIdToken();
      const response = await browser.get(`${server.issuer}/session/end?${new URLSearchParams(params(idToken))}`);
      expect(response.status).toBe(400);
      expect(response.location).toBeNull();
    });

    it("never redirects to a post_logout_redirect_uri sent without id_token_hint or client_id", async () => {
      const { browser } = await signedInWithIdToken();
      // Without a client to check it against, oidc-provider drops the URI and asks as for a bare logout.
      const confirm = await browser.get(`${server.issuer}/session/end?${new URLSearchParams({ post_logout_redirect_uri: RP_LOGOUT_CALLBACK })}`);
      expect(confirm.status).toBe(200);
      expect(confirm.location).toBeNull();
      expect(confirm.text).toContain("Sign out of <strong>");
      expect(confirm.text).not.toContain(RP_LOGOUT_CALLBACK);
      const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)?.[1] as string;
      const done = await browser.postForm(`${server.issuer}/session/end/confirm`, { xsrf, logout: "yes" });
      expect(done.status).toBe(303);
      expect(done.location).toBe(`${server.issuer}/session/end/success`);
      expect((await browser.get(done.location as string)).text).toContain("You are signed out");
    });

    it.each([
      ["no parameters", {}],
      ["only state", { state: "abc" }],
    ])("with %s still signs out after confirmation", async (_label, params) => {
      const { browser } = await signedInWithIdToken();
      const confirm = await browser.get(`${server.issuer}/session/end?${new URLSearchParams(params)}`);
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain("Sign out of <strong>");
      const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)?.[1] as string;
      const done = await browser.postForm(`${server.issuer}/session/end/confirm`, { xsrf, logout: "yes" });
      const page = await browser.follow(done.location as string, server.issuer, done);
      expect(page.text).toContain("You are signed out");
      const after = await silent(browser, { prompt: "none" });
      expect(after.params?.get("error")).toBe("login_required");
    });
  });
});
