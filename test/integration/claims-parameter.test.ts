import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACR } from "../../src/auth/assurance.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import {
  type AuthorizationStart,
  authorizationRequest,
  createUser,
  PASSWORD,
  type RelyingParty,
  RP_CALLBACK,
  registerRelyingParty,
  signInAndRedeem,
} from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const EMAIL = "alice@example.com";
const askForEmail = JSON.stringify({
  id_token: { email: { essential: true }, email_verified: null },
  userinfo: { email: null, email_verified: null },
});

// SECURITY-TESTS.md §30: the claims parameter returns only claims covered by the client's allowed scopes.
describe.each(DATABASE_KINDS)("§30 the claims parameter follows the client's allowed scopes (%s)", (kind) => {
  let server: TestServer;
  let userId: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { caches: { accountSeconds: 0 } });
    userId = await createUser(server, EMAIL);
  });
  afterAll(() => server?.stop());

  /** Signs in with a password, approves consent if asked; returns the consent page seen (if any) and the callback. */
  async function signIn(rp: RelyingParty, extra: Record<string, string>) {
    const start = await authorizationRequest(rp, extra);
    const browser = new BrowserSession();
    let page = await browser.follow(start.url.toString(), server.issuer);
    const consentPages: string[] = [];
    for (let step = 0; step < 6 && !page.location?.startsWith(RP_CALLBACK); step += 1) {
      page = await answer(browser, page, consentPages);
    }
    if (!page.location?.startsWith(RP_CALLBACK)) throw new Error(`no callback (status ${page.status}): ${page.text.slice(0, 300)}`);
    return { start, callback: new URL(page.location), consentPages };
  }

  async function answer(browser: BrowserSession, page: PageResponse, consentPages: string[]): Promise<PageResponse> {
    const step = page.text.includes("/login") ? "/login" : page.text.includes("/passkey/skip") ? "/passkey/skip" : "/consent";
    if (step === "/consent") consentPages.push(page.text);
    const action = new URL(formActionOf(page.text, step), server.issuer).toString();
    const fields: Record<string, string> = step === "/login" ? { email: EMAIL, password: PASSWORD } : {};
    return browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), ...fields }));
  }

  async function redeem(rp: RelyingParty, start: AuthorizationStart, callback: URL) {
    const tokens = await oidc.authorizationCodeGrant(rp.config, callback, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    return { idToken: tokens.claims() ?? { sub: "" }, userinfo: await oidc.fetchUserInfo(rp.config, tokens.access_token, userId) };
  }

  it("drops email from the ID token and userinfo for a first-party client allowed only openid", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true, scopes: ["openid"] });
    const { start, callback } = await signIn(rp, { scope: "openid", claims: askForEmail });
    const { idToken, userinfo } = await redeem(rp, start, callback);
    expect(idToken.sub).toBe(userId);
    expect(idToken).not.toHaveProperty("email");
    expect(idToken).not.toHaveProperty("email_verified");
    expect(userinfo).toEqual({ sub: userId });
  });

  it("neither lists nor releases email for a third-party client allowed only openid, and consent does not loop", async () => {
    const rp = await registerRelyingParty(server, { scopes: ["openid"] });
    const { start, callback, consentPages } = await signIn(rp, { scope: "openid", claims: askForEmail });
    expect(consentPages).toHaveLength(1);
    expect(consentPages[0]).not.toContain("See your email");
    const { idToken, userinfo } = await redeem(rp, start, callback);
    expect(idToken).not.toHaveProperty("email");
    expect(idToken).not.toHaveProperty("email_verified");
    expect(userinfo).toEqual({ sub: userId });

    // The grant stored by that consent does not release them to a later, silent request either.
    const again = await signIn(rp, { scope: "openid", claims: askForEmail, prompt: "" });
    expect((await redeem(rp, again.start, again.callback)).userinfo).toEqual({ sub: userId });
  });

  it("releases email through the claims parameter and through the scope to a client allowed email", async () => {
    const rp = await registerRelyingParty(server, { scopes: ["openid", "email"] });
    const viaClaims = await signIn(rp, { scope: "openid", claims: askForEmail });
    expect(viaClaims.consentPages[0]).toContain("See your email");
    const fromClaims = await redeem(rp, viaClaims.start, viaClaims.callback);
    expect(fromClaims.idToken).toMatchObject({ email: EMAIL, email_verified: true });
    expect(fromClaims.userinfo).toEqual({ sub: userId, email: EMAIL, email_verified: true });

    const viaScope = await signIn(rp, { scope: "openid email" });
    expect((await redeem(rp, viaScope.start, viaScope.callback)).userinfo).toEqual({ sub: userId, email: EMAIL, email_verified: true });
  });

  it("keeps an essential acr request working for a client allowed only openid", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true, scopes: ["openid"] });
    const met = await signIn(rp, { scope: "openid", claims: JSON.stringify({ id_token: { acr: { essential: true, value: ACR.password }, auth_time: null } }) });
    expect((await redeem(rp, met.start, met.callback)).idToken).toMatchObject({ acr: ACR.password, auth_time: expect.any(Number) });

    // Essential and out of reach for a user without a second factor: still drives the step-up decision.
    const unmet = await signIn(rp, { scope: "openid", claims: JSON.stringify({ id_token: { acr: { essential: true, value: ACR.mfa }, email: null } }) });
    expect(unmet.callback.searchParams.get("error")).toBe("unmet_authentication_requirements");
  });

  it("still refuses a claims member that is neither null nor an object", async () => {
    const rp = await registerRelyingParty(server, { scopes: ["openid"] });
    const start = await authorizationRequest(rp, { scope: "openid", claims: JSON.stringify({ userinfo: { email: true } }) });
    const page = await new BrowserSession().follow(start.url.toString(), server.issuer);
    expect(new URL(page.location as string).searchParams.get("error")).toBe("invalid_request");
  });

  // Found by the red team of issue #13: a JSON escape the database cannot store answered 500 at the last step, every time.
  it.each([
    ["a NUL escape in a value", '{"id_token":{"email":{"value":"a\\u0000b"}}}'],
    ["a lone surrogate escape in a value", '{"id_token":{"email":{"value":"\\ud800"}}}'],
    ["a NUL escape in a claim name", '{"userinfo":{"e\\u0000mail":null}}'],
    ["a lone surrogate in a values array", '{"id_token":{"acr":{"values":["\\udfff"]}}}'],
  ])("refuses claims with %s as invalid_request, at the authorization endpoint", async (_label, claims) => {
    const rp = await registerRelyingParty(server);
    const start = await authorizationRequest(rp, { claims });
    const page = await new BrowserSession().follow(start.url.toString(), server.issuer);
    const params = new URL(page.location as string).searchParams;
    expect({ error: params.get("error"), description: params.get("error_description") }).toMatchObject({
      error: "invalid_request",
      description: expect.stringMatching(/^claims contains (a NUL character|an unpaired surrogate)$/),
    });
  });

  it("revokes a client's grants when its scopes are narrowed, so a refresh cannot go on issuing a removed scope", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const email = `narrowed-${kind}@example.com`;
    await createUser(server, email);
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession(), email);
    expect(tokens.scope?.split(" ")).toContain("email");
    await server.services.clients.update(rp.clientId, { scopes: ["openid", "offline_access"] });
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    const userinfo = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).toBe(401);
  });
});
