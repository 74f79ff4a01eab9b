import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, comparablePage, csrfTokenOf, type PageResponse } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty, signIn, signInAndRedeem } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

describe("interaction pages", () => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    rp = await registerRelyingParty(server);
    await createUser(server);
  });
  afterAll(() => server?.stop());

  async function openLoginPage(browser = new BrowserSession()): Promise<{ browser: BrowserSession; page: PageResponse; action: string }> {
    const start = await authorizationRequest(rp);
    const page = await browser.follow(start.url.toString(), server.issuer);
    const uid = page.url.split("/interaction/")[1] as string;
    return { browser, page, action: `${server.issuer}/interaction/${uid}/login` };
  }

  it("serves the login page with a nonce-based CSP, no caching and anti-framing headers", async () => {
    const { page } = await openLoginPage();
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy") as string;
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.text).toContain('autocomplete="current-password"');
    // Passkey autofill (conditional mediation) hangs off the email field.
    expect(page.text).toContain('autocomplete="username webauthn"');
  });

  it("serves the sign-up pages with the same headers and a CSRF token in every form", async () => {
    const { browser, page } = await openLoginPage();
    const uid = page.url.split("/interaction/")[1] as string;
    const form = await browser.get(`${server.issuer}/interaction/${uid}/signup`);
    const sent = await browser.postForm(`${server.issuer}/interaction/${uid}/signup`, { _csrf: csrfTokenOf(form.text), email: "pages@example.com" });
    const link = await browser.get(`${server.issuer}/signup/verify?token=${"x".repeat(43)}`);
    const done = await browser.get(`${server.issuer}/signup/done`);
    for (const response of [form, sent, link, done]) {
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(response.headers.get("content-security-policy")).not.toContain("unsafe-inline");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      const forms = response.text.match(/<form /g)?.length ?? 0;
      expect(response.text.match(/name="_csrf"/g)?.length ?? 0).toBe(forms);
    }
    const withoutToken = await browser.postForm(`${server.issuer}/interaction/${uid}/signup`, { email: "pages@example.com" });
    expect(withoutToken.status).toBe(403);
  });

  it("sets HttpOnly, SameSite cookies", async () => {
    const { browser } = await openLoginPage();
    const cookies = await browser.jar.getCookies(`${server.issuer}/interaction/x`);
    const all = [...cookies, ...(await browser.jar.getCookies(`${server.issuer}/auth/x`))];
    expect(all.length).toBeGreaterThan(0);
    for (const cookie of all) {
      expect(cookie.httpOnly).toBe(true);
      expect(cookie.sameSite).toBe("lax");
    }
  });

  it("refuses a POST without a CSRF token, and one with a foreign Origin (§21)", async () => {
    const { browser, page, action } = await openLoginPage();
    const noToken = await browser.postForm(action, { email: "alice@example.com", password: PASSWORD });
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain("This form has expired");
    const foreign = await browser.postForm(
      action,
      { _csrf: csrfTokenOf(page.text), email: "alice@example.com", password: PASSWORD },
      { origin: "https://evil.example" },
    );
    expect(foreign.status).toBe(403);
    const crossSite = await browser.postForm(
      action,
      { _csrf: csrfTokenOf(page.text), email: "alice@example.com", password: PASSWORD },
      { "sec-fetch-site": "cross-site" },
    );
    expect(crossSite.status).toBe(403);
    // Another browser's token does not work either.
    const other = await openLoginPage();
    const swapped = await browser.postForm(action, { _csrf: csrfTokenOf(other.page.text), email: "alice@example.com", password: PASSWORD });
    expect(swapped.status).toBe(403);
  });

  it("accepts its own form posts that browsers send with Origin: null (Referrer-Policy: no-referrer)", async () => {
    const { browser, page, action } = await openLoginPage();
    const response = await browser.postForm(
      action,
      { _csrf: csrfTokenOf(page.text), email: "alice@example.com", password: "wrong password" },
      { origin: "null", "sec-fetch-site": "same-origin" },
    );
    expect(response.status).toBe(400);
    expect(response.text).toContain("do not match");
  });

  it("answers an unknown email and a wrong password identically (§20)", async () => {
    const responses: string[] = [];
    for (const email of ["nobody@example.com", "alice@example.com"]) {
      const { browser, page, action } = await openLoginPage();
      const response = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: "wrong password" });
      expect(response.status).toBe(400);
      responses.push(comparablePage(response.text));
    }
    expect(responses[0]).toBe(responses[1]);
    expect(responses[0]).toContain("That email and password do not match an account.");
  });

  it("refuses an oversized body with 413 and a page, not a 500 (§25)", async () => {
    const { browser, page, action } = await openLoginPage();
    const response = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email: "alice@example.com", password: "x".repeat(200_000) });
    expect(response.status).toBe(413);
    expect(response.text).toContain("Too much data");
  });

  it("shows a friendly page for an expired or unknown interaction", async () => {
    const response = await new BrowserSession().get(`${server.issuer}/interaction/does-not-exist`);
    expect(response.status).toBe(400);
    expect(response.text).toContain("This sign-in page has expired");
  });

  it("does not keep a session cookie planted before sign-in (§22)", async () => {
    const browser = new BrowserSession();
    await browser.jar.setCookie("idp_session=attacker-chosen-session-id; Path=/; HttpOnly", server.issuer);
    await signIn(server, rp, browser);
    const session = (await browser.jar.getCookies(server.issuer)).find((cookie) => cookie.key === "idp_session");
    expect(session?.value).toBeTruthy();
    expect(session?.value).not.toBe("attacker-chosen-session-id");
  });

  it("cancelling the sign-in returns access_denied to the client", async () => {
    const { browser, page, action } = await openLoginPage();
    const response = await browser.postForm(action.replace(/\/login$/, "/abort"), { _csrf: csrfTokenOf(page.text) });
    const final = await browser.follow(response.location as string, server.issuer, response);
    const callback = new URL(final.location as string);
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("iss")).toBe(server.issuer);
  });
});

describe("consent", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    await createUser(server);
  });
  afterAll(() => server?.stop());

  async function pagesSeen(rp: RelyingParty): Promise<string[]> {
    const browser = new BrowserSession();
    const titles: string[] = [];
    const original = browser.request.bind(browser);
    browser.request = async (url, init) => {
      const response = await original(url, init);
      const title = response.text.match(/<title>([^<]+)<\/title>/)?.[1];
      if (title) titles.push(title);
      return response;
    };
    await signIn(server, rp, browser);
    return titles;
  }

  it("asks third-party clients, and stores the decision in a grant", async () => {
    const rp = await registerRelyingParty(server);
    expect(await pagesSeen(rp)).toContain("Allow access");
    const grants = await server.database.prisma.oidcPayload.findMany({ where: { kind: "Grant", payload: { path: ["clientId"], equals: rp.clientId } } });
    expect(grants.map((grant) => (grant.payload as { openid?: { scope?: string } }).openid?.scope)).toEqual(["openid email profile offline_access"]);
  });

  it("can revoke the decision later: the client must ask again", async () => {
    const rp = await registerRelyingParty(server);
    const { tokens, browser } = await signInAndRedeem(server, rp);
    const silently = async () => {
      const start = await authorizationRequest(rp, { prompt: "none", scope: "openid email" });
      const answer = await browser.follow(start.url.toString(), server.issuer);
      return new URL(answer.location as string).searchParams;
    };
    expect((await silently()).get("code")).toBeTruthy();
    // Revoking the refresh token revokes the grant it came from (oidc-provider's revokeGrantPolicy).
    await oidc.tokenRevocation(rp.config, tokens.refresh_token as string);
    expect((await silently()).get("error")).toBe("consent_required");
    await expect(oidc.fetchUserInfo(rp.config, tokens.access_token, oidc.skipSubjectCheck)).rejects.toThrow();
  });

  it("skips the consent page for first-party clients", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    expect(await pagesSeen(rp)).not.toContain("Allow access");
  });
});
