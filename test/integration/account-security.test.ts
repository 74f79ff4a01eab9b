import * as oidc from "openid-client";
import { generate } from "otplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, createUser, PASSWORD, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #4: the security settings (TOTP enrolment, backup codes) and the recent verification every
// change needs; the account pages sign in through the IdP's own authorization endpoint.
describe("account security settings", () => {
  let server: TestServer;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite", { account: { reverifySeconds: 600 } });
  });
  afterAll(() => server?.stop());
  afterEach(restoreClock);

  async function newUser() {
    const email = `account-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  async function openSecurity(browser: BrowserSession, email: string, code?: () => Promise<string>) {
    return new AccountPage(server, email, browser, code).open();
  }

  const signInThrough = (browser: BrowserSession, page: PageResponse, email: string, code?: () => Promise<string>) =>
    new AccountPage(server, email, browser, code).signInThrough(page);

  const post = (browser: BrowserSession, page: PageResponse, path: string, fields: Record<string, string> = {}) =>
    new AccountPage(server, "", browser).post(page, path, fields);

  it("signs in through the authorization endpoint and shows the settings", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const page = await openSecurity(browser, user.email);
    expect(page.status).toBe(200);
    expect(page.url).toBe(`${server.issuer}/account`);
    expect(page.text).toContain("Set up an authenticator app");
    expect(page.text).toContain("0 unused backup codes");
  });

  it("enrols an authenticator app with a QR code and a typed key, confirmed by a first valid code", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const security = await openSecurity(browser, user.email);
    const enrol = await post(browser, security, "/account/security/totp");
    expect(enrol.status).toBe(200);
    expect(enrol.text).toMatch(/<img src="data:image\/png;base64,/);
    const secret = enrol.text.match(/<code id="totp-secret">([A-Z2-7]+)<\/code>/)?.[1] as string;
    expect(secret).toBeTruthy();

    const wrong = await post(browser, enrol, "/account/security/totp/confirm", { code: "000000" });
    expect(wrong.status).toBe(400);
    expect(await server.services.totp.isEnabled(user.id)).toBe(false);

    const again = await post(browser, security, "/account/security/totp");
    const secret2 = again.text.match(/<code id="totp-secret">([A-Z2-7]+)<\/code>/)?.[1] as string;
    const done = await post(browser, again, "/account/security/totp/confirm", { code: await generate({ secret: secret2 }) });
    expect(done.status).toBe(200);
    expect(done.text).toContain("Your authenticator app is set up");
    const codes = [...done.text.matchAll(/<li><code>([a-z2-9-]+)<\/code><\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    expect(await server.services.totp.isEnabled(user.id)).toBe(true);

    const recorded = await server.services.events.listForUser(user.id);
    expect(recorded.map((event) => event.type)).toEqual(expect.arrayContaining(["mfa.totp_added", "mfa.backup_codes_created", "mfa.totp_enrolment"]));
    // Each with time, IP, user agent and outcome (issue #4 acceptance 4).
    const added = recorded.find((event) => event.type === "mfa.totp_added");
    expect(added).toMatchObject({ outcome: "success", ip: expect.stringMatching(/127\.0\.0\.1/), userAgent: expect.any(String) });
    expect(added?.createdAt).toBeInstanceOf(Date);
    const mails = await mailsTo(server, user.email);
    expect(mails.map((mail) => mail.subject)).toContain("Security change on your 127.0.0.1 account");
    expect(mails.some((mail) => mail.text.includes("An authenticator app was set up"))).toBe(true);
  });

  it("refuses changes without a recent verification, and asks for the second factor the user has (§15)", async () => {
    const user = await newUser();
    const { secret } = await server.services.totp.startEnrolment(user);
    await server.services.totp.confirmEnrolment(user.id, await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 }));
    const browser = new BrowserSession();
    // Each sign-in needs a newer step than the last (replay protection): now, then the next step.
    let steps = 0;
    const code = () => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * steps++ });
    const security = await openSecurity(browser, user.email, code);
    expect(security.url).toBe(`${server.issuer}/account`);

    moveClock(660);
    const stale = await post(browser, security, "/account/security/backup-codes");
    expect(stale.status).toBe(303);
    const target = new URL(stale.location as string);
    expect(target.pathname).toBe("/auth");
    expect(target.searchParams.get("max_age")).toBe("600");
    expect(target.searchParams.get("acr_values")).toBe("urn:idp:acr:mfa");
    expect(await server.services.backupCodes.remaining(user.id)).toBe(0);

    // Verifying again (password and a code) brings the user back, and the change then works.
    const back = await signInThrough(browser, await browser.follow(stale.location as string, server.issuer), user.email, code);
    expect(back.url).toBe(`${server.issuer}/account`);
    const created = await post(browser, back, "/account/security/backup-codes");
    expect(created.status).toBe(200);
    expect(await server.services.backupCodes.remaining(user.id)).toBe(10);
  });

  it("removes the authenticator app after verification, and says so by mail", async () => {
    const user = await newUser();
    const { secret } = await server.services.totp.startEnrolment(user);
    await server.services.totp.confirmEnrolment(user.id, await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 }));
    const browser = new BrowserSession();
    const security = await openSecurity(browser, user.email, () => generate({ secret }));
    const removed = await post(browser, security, "/account/security/totp/remove");
    expect(removed.status).toBe(200);
    expect(removed.text).toContain("The authenticator app was removed.");
    expect(await server.services.totp.isEnabled(user.id)).toBe(false);
    expect((await mailsTo(server, user.email)).some((mail) => mail.text.includes("The authenticator app was removed"))).toBe(true);
  });

  const postVerified = (browser: BrowserSession, page: PageResponse, path: string, email: string, code?: () => Promise<string>) =>
    new AccountPage(server, email, browser, code).postVerified(page, path);

  it("offers 'sign out all other sessions' after a change, ending the others and their tokens only", async () => {
    const user = await newUser();
    const rp = await registerRelyingParty(server, { firstParty: true });
    const here = await signInAndRedeem(server, rp, new BrowserSession(), user.email);
    const elsewhere = await signInAndRedeem(server, rp, new BrowserSession(), user.email);
    const security = await openSecurity(here.browser, user.email);
    const changedPage = await postVerified(here.browser, security, "/account/security/backup-codes", user.email);
    expect(changedPage.text).toContain('action="/account/sessions/sign-out-others"');
    // Backup codes are a second factor: from now on a change needs one of them (MFA) too.
    const codes = [...changedPage.text.matchAll(/<li><code>([a-z2-9-]+)<\/code><\/li>/g)].map((m) => m[1] as string);
    const signedOut = await postVerified(here.browser, changedPage, "/account/sessions/sign-out-others", user.email, async () => codes.pop() as string);
    expect(signedOut.status).toBe(200);
    expect(signedOut.text).toContain("Every other session is signed out");

    const silent = async (browser: BrowserSession) =>
      new URL((await browser.follow((await authorizationRequest(rp, { prompt: "none" })).url.toString(), server.issuer)).location as string).searchParams;
    expect((await silent(elsewhere.browser)).get("error")).toBe("login_required");
    await expect(oidc.refreshTokenGrant(rp.config, elsewhere.tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    expect((await silent(here.browser)).get("code")).toBeTruthy();
    expect((await oidc.refreshTokenGrant(rp.config, here.tokens.refresh_token as string)).access_token).toBeTruthy();
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("session.signed_out_others");
  });

  it("refuses a callback it did not start, a replayed one, and foreign return paths", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const started = await browser.get(`${server.issuer}/account/signin?return=https://evil.example/`);
    const authUrl = new URL(started.location as string);
    expect(authUrl.searchParams.get("client_id")).toBe("idp-account");
    expect(authUrl.searchParams.get("code_challenge_method")).toBe("S256");
    // Complete the sign-in but stop at the callback, to look at it.
    let page = await browser.follow(authUrl.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email: user.email, password: PASSWORD });
    // A password sign-in of an account without a passkey is offered one: "Not now".
    expect(page.status).toBe(200);
    const skip = new URL(formActionOf(page.text, "/passkey/skip"), server.issuer).toString();
    page = await browser.postForm(skip, { _csrf: csrfTokenOf(page.text) });
    while (page.location && !page.location.includes("/account/callback")) page = await browser.get(page.location);
    const callback = page.location as string;

    const otherBrowser = new BrowserSession();
    expect((await otherBrowser.get(callback)).status).toBe(400);
    const landed = await browser.get(callback);
    expect(landed.status).toBe(303);
    expect(landed.location).toBe(`${server.issuer}/account`);
    expect((await browser.get(callback)).status).toBe(400);
  });
});
