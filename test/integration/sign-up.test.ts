import { statSync } from "node:fs";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/crypto/hash.js";
import { createSignUpQueries } from "../../src/db/sign-ups.js";
import { BrowserSession, comparablePage, csrfTokenOf, type PageResponse } from "../helpers/browser-session.js";
import { mailsTo, readOutbox } from "../helpers/outbox.js";
import { authorizationRequest, createUser, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #3 sign-up, and SECURITY-TESTS.md's enumeration and single-use-link cases, over real HTTP.
describe.each(DATABASE_KINDS)("sign-up by email link and passkey (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;
  const newAddress = () => `new-${++counter}-${Date.now()}@example.com`;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server);
    await createUser(server, "existing@example.com");
  });
  afterAll(() => server?.stop());

  /** Opens the sign-in page of a new authorization in `browser`, then its "Create an account" page. */
  async function openSignUp(browser = new BrowserSession()) {
    const start = await authorizationRequest(rp);
    const login = await browser.follow(start.url.toString(), server.issuer);
    const signUpPath = login.text.match(/href="(\/interaction\/[^"]+\/signup)"/)?.[1];
    if (!signUpPath) throw new Error("the sign-in page does not offer sign-up");
    const page = await browser.get(`${server.issuer}${signUpPath}`);
    return { browser, start, page, url: `${server.issuer}${signUpPath}` };
  }

  async function requestLink(email: string, browser = new BrowserSession()) {
    const opened = await openSignUp(browser);
    const sent = await browser.postForm(opened.url, { _csrf: csrfTokenOf(opened.page.text), email });
    return { ...opened, sent };
  }

  async function linkFor(email: string): Promise<string> {
    const mails = await mailsTo(server, email);
    const link = mails.at(-1)?.link;
    if (!link) throw new Error(`no link mailed to ${email}`);
    return link;
  }

  /** Opens a mailed link and answers its passkey ceremony with a software authenticator. */
  async function completeWithPasskey(browser: BrowserSession, link: string, authenticator = new SoftwareAuthenticator()) {
    const page = await browser.get(link);
    expect(page.status).toBe(200);
    const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const token = new URL(link).searchParams.get("token");
    const post = (path: string, body: unknown) => browser.postJson(`${server.issuer}/signup${path}`, csrf, body);
    const options = await post("/passkey/register/options", { token });
    expect(options.status).toBe(200);
    const { challenge } = JSON.parse(options.text) as { challenge: string };
    const response = authenticator.registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" });
    return { verify: await post("/passkey/register/verify", { ...response, token }), post, authenticator, token };
  }

  it("offers sign-up on the sign-in page and asks only for an email", async () => {
    const { page } = await openSignUp();
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="email"');
    expect(page.text).not.toContain('type="password"');
  });

  it("mails a single-use link (stored hashed, ≤ 30 min); the passkey creates the account and the RP gets a code", async () => {
    const email = newAddress();
    const { browser, start, sent } = await requestLink(email);
    expect(sent.status).toBe(200);
    expect(sent.text).toContain("Check your email");

    const [mail] = await mailsTo(server, email);
    expect(await server.database.prisma.user.count({ where: { email } })).toBe(0);
    expect(mail?.subject).toMatch(/Confirm your email/);
    const link = mail?.link as string;
    expect(link).toMatch(new RegExp(`^${server.issuer}/signup/verify\\?token=[A-Za-z0-9_-]{43}$`));
    const token = new URL(link).searchParams.get("token") as string;
    const stored = await server.database.prisma.emailLink.findFirstOrThrow({ where: { email } });
    expect(stored.tokenHash).toBe(sha256(token));
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored.expiresAt.getTime() - stored.createdAt.getTime()).toBeLessThanOrEqual(30 * 60_000);

    // Opening the link (as a mail scanner would) uses nothing up.
    expect((await new BrowserSession().get(link)).status).toBe(200);
    const { verify } = await completeWithPasskey(browser, link);
    expect(verify.status).toBe(200);
    const { redirectTo } = JSON.parse(verify.text) as { redirectTo: string };
    expect(redirectTo).toMatch(/^\/interaction\/[^/]+\/signup\/continue$/);

    const user = await server.database.prisma.user.findUniqueOrThrow({ where: { email }, include: { credentials: true } });
    expect(user).toMatchObject({ emailVerified: true, passwordHash: null });
    expect(user.credentials).toHaveLength(1);

    // Back in the authorization: consent, then the relying party's callback with a code.
    let page = await browser.follow(`${server.issuer}${redirectTo}`, server.issuer);
    if (!page.location) page = await browser.follow(`${page.url}`, server.issuer, await approve(browser, page));
    expect(page.location).toMatch(new RegExp(`^${RP_CALLBACK}`));
    const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(page.location as string), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: "urn:idp:acr:passkey", amr: ["hwk", "user"] });
    const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, user.id);
    expect(userinfo).toMatchObject({ email, email_verified: true });

    // Used once: the link is dead now, for everybody.
    const again = await new BrowserSession().get(link);
    expect(again.status).toBe(400);
    expect(again.text).toContain("expired or was already used");
  });

  async function approve(browser: BrowserSession, page: PageResponse) {
    const action = page.text.match(/action="(\/interaction\/[^"]+\/consent)"/)?.[1];
    if (!action) throw new Error(`expected the consent page, got ${page.status}: ${page.text.slice(0, 200)}`);
    return browser.postForm(`${server.issuer}${action}`, { _csrf: csrfTokenOf(page.text) });
  }

  it("answers identically for a new and an existing address, and mails the owner a notice instead of a link", async () => {
    const fresh = newAddress();
    const forNew = await requestLink(fresh);
    const forExisting = await requestLink("existing@example.com");
    expect(forExisting.sent.status).toBe(forNew.sent.status);
    const blank = (html: string) =>
      comparablePage(html)
        .replace(/<strong>[^<]+<\/strong>/, "")
        .replace(/value="[^"]+@example.com"/, "");
    expect(blank(forExisting.sent.text)).toBe(blank(forNew.sent.text));

    const notice = await mailsTo(server, "existing@example.com");
    expect(notice).toHaveLength(1);
    expect(notice[0]?.subject).toMatch(/already have/);
    expect(notice[0]?.link).toBeNull();
    expect((await mailsTo(server, fresh))[0]?.link).toMatch(/\/signup\/verify\?token=/);
    expect(await server.database.prisma.emailLink.count({ where: { email: "existing@example.com" } })).toBe(0);
  });

  it("answers 'send again' the same way, and only the newest link works", async () => {
    const email = newAddress();
    const { browser, sent, url } = await requestLink(email);
    const first = await linkFor(email);
    const resent = await browser.postForm(url, { _csrf: csrfTokenOf(sent.text), email });
    expect(comparablePage(resent.text)).toBe(comparablePage(sent.text));
    const second = await linkFor(email);
    expect(second).not.toBe(first);
    expect((await new BrowserSession().get(first)).status).toBe(400);
    expect((await new BrowserSession().get(second)).status).toBe(200);

    const resentForExisting = await browser.postForm(url, { _csrf: csrfTokenOf(sent.text), email: "existing@example.com" });
    expect(resentForExisting.status).toBe(200);
    expect(resentForExisting.text).toContain("Check your email");
  });

  it("refuses an expired link and a malformed one with a friendly page", async () => {
    const email = newAddress();
    await requestLink(email);
    const link = await linkFor(email);
    await server.database.prisma.emailLink.updateMany({ where: { email }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await new BrowserSession().get(link);
    expect(expired.status).toBe(400);
    expect(expired.text).toContain("expired or was already used");
    for (const bad of ["", "?token=", "?token=short", `?token=${"A".repeat(43)}`, "?token=a&token=b"]) {
      const page = await new BrowserSession().get(`${server.issuer}/signup/verify${bad}`);
      expect(page.status).toBe(400);
      expect(page.text).toContain("expired or was already used");
    }
  });

  it("refuses an invalid address with a clear message on the form", async () => {
    const { sent } = await requestLink("not-an-address");
    expect(sent.status).toBe(400);
    expect(sent.text).toContain("is not an email address");
    expect(sent.text).toContain('name="email"');
  });

  it("limits the mails one address can be sent (whether or not it has an account)", async () => {
    const email = newAddress();
    const { browser, url, page } = await openSignUp();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await browser.postForm(url, { _csrf: csrfTokenOf(page.text), email })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await browser.postForm(url, { _csrf: csrfTokenOf(page.text), email });
    expect(limited.text).toMatch(/Too many emails were requested. Try again in \d+ minutes?\./);
    expect(await mailsTo(server, email)).toHaveLength(5);
  });

  it("writes nothing when the passkey ceremony fails; the link still works afterwards", async () => {
    const email = newAddress();
    const { browser } = await requestLink(email);
    const link = await linkFor(email);
    const { post, token } = await completeWithPasskey(browser, link);
    // The account exists now; a second ceremony on the same link is refused and changes nothing.
    const reused = await post("/passkey/register/options", { token });
    expect(reused.status).toBe(400);

    const other = newAddress();
    const second = await requestLink(other);
    const otherLink = await linkFor(other);
    const page = await second.browser.get(otherLink);
    const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const otherToken = new URL(otherLink).searchParams.get("token");
    const options = await second.browser.postJson(`${server.issuer}/signup/passkey/register/options`, csrf, { token: otherToken });
    const { challenge } = JSON.parse(options.text) as { challenge: string };
    const wrongOrigin = new SoftwareAuthenticator().registration({ challenge, origin: "http://evil.example", rpId: "127.0.0.1" });
    const refused = await second.browser.postJson(`${server.issuer}/signup/passkey/register/verify`, csrf, { ...wrongOrigin, token: otherToken });
    expect(refused.status).toBe(400);
    expect(await server.database.prisma.user.count({ where: { email: other } })).toBe(0);
    expect(await server.database.prisma.emailLink.count({ where: { email: other, consumedAt: null } })).toBe(1);
    expect((await completeWithPasskey(second.browser, otherLink)).verify.status).toBe(200);
  });

  it("records the device and IP of the session a sign-up signs in, before its first authorization completes (issue #15)", async () => {
    const email = newAddress();
    const browser = new BrowserSession();
    browser.userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    await requestLink(email, browser);
    const { verify } = await completeWithPasskey(browser, await linkFor(email));
    const { redirectTo } = JSON.parse(verify.text) as { redirectTo: string };
    // On the app's consent page the session exists, signed in, though no authorization has completed yet.
    const consent = await browser.follow(`${server.issuer}${redirectTo}`, server.issuer);
    expect(consent.text).toContain("/consent");
    await server.services.tasks.drain();
    const user = await server.database.prisma.user.findUniqueOrThrow({ where: { email } });
    const devices = await server.services.sessionDevices.listSessionDevicesOfUser(user.id);
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ createdUserAgent: browser.userAgent, createdIp: expect.stringMatching(/127\.0\.0\.1/) });
    // The account page (opened now, in another tab) names that session's browser and IP.
    const account = await browser.follow(`${server.issuer}/account`, server.issuer);
    const sessions = account.text.slice(account.text.indexOf('id="sessions"'), account.text.indexOf('id="apps"'));
    expect(sessions).toMatch(/<strong>Chrome on Linux<\/strong> <span class="badge">this device<\/span>/);
    expect(sessions).toMatch(/IP [0-9a-f.:]+ · signed in/);
    expect(sessions).not.toContain("Unknown device");
  });

  it("refuses a passkey already registered to another account, leaving no account behind", async () => {
    const first = newAddress();
    const { browser } = await requestLink(first);
    const authenticator = new SoftwareAuthenticator();
    expect((await completeWithPasskey(browser, await linkFor(first), authenticator)).verify.status).toBe(200);
    const second = newAddress();
    const again = await requestLink(second);
    const { verify } = await completeWithPasskey(again.browser, await linkFor(second), authenticator);
    expect(verify.status).toBe(409);
    expect(await server.database.prisma.user.count({ where: { email: second } })).toBe(0);
  });

  it("does not sign in the browser that started a sign-up when someone else completes it", async () => {
    const email = newAddress();
    const attacker = await requestLink(email);
    const link = await linkFor(email);
    // The address's owner opens the mailed link in their own browser and creates the passkey.
    const owner = new BrowserSession();
    const { verify } = await completeWithPasskey(owner, link);
    const { redirectTo } = JSON.parse(verify.text) as { redirectTo: string };
    const ownerLanding = await owner.follow(`${server.issuer}${redirectTo}`, server.issuer);
    expect(ownerLanding.status).toBe(200);
    expect(ownerLanding.text).toContain("Your account and your passkey are ready");

    // The browser that started it holds the interaction cookie but not the passkey's continuation cookie.
    const attackerLanding = await attacker.browser.follow(`${server.issuer}${redirectTo}`, server.issuer);
    expect(attackerLanding.text).toContain("Your account and your passkey are ready");
    const resumed = await attacker.browser.follow(attacker.start.url.toString(), server.issuer);
    expect(resumed.location ?? "").not.toMatch(new RegExp(`^${RP_CALLBACK}`));
    expect(resumed.text).toContain('action="/interaction/');
  });

  it("lets exactly one of two concurrent uses of a link create the account", async () => {
    const email = newAddress();
    await requestLink(email);
    await server.services.tasks.drain();
    const link = await server.database.prisma.emailLink.findFirstOrThrow({ where: { email } });
    const signUps = createSignUpQueries(server.database.prisma);
    const attempt = (credentialId: string) =>
      signUps
        .createAccountFromLink({
          tokenHash: link.tokenHash,
          now: new Date(),
          user: { id: link.userId, email, language: "en" },
          credential: {
            id: credentialId,
            userId: link.userId,
            publicKey: Buffer.alloc(8),
            deviceType: "singleDevice",
            backupEligible: false,
            backedUp: false,
            aaguid: "x",
            name: "x",
          },
        })
        .catch((error: { code?: string }) => error.code ?? "error");
    const outcomes = await Promise.all([attempt("race-a"), attempt("race-b")]);
    expect(outcomes.filter((outcome) => outcome === true)).toHaveLength(1);
    expect(await server.database.prisma.user.count({ where: { email } })).toBe(1);
    expect(await server.database.prisma.credential.count({ where: { userId: link.userId } })).toBe(1);
  });

  it("keeps the outbox readable only by the server's user", async () => {
    const mails = await readOutbox(server);
    expect(mails.length).toBeGreaterThan(0);
    expect(statSync(server.config.mail.outboxDir).mode & 0o077).toBe(0);
  });
});

describe("sign-up modes", () => {
  it("invite-only: no sign-up form, and an operator's invitation creates the account", async () => {
    const server = await startTestServer("pglite", { signUp: { mode: "invite" } });
    try {
      const rp = await registerRelyingParty(server);
      const browser = new BrowserSession();
      const login = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
      expect(login.text).not.toContain("/signup");
      const uid = login.url.match(/\/interaction\/([^/?]+)/)?.[1];
      const form = await browser.get(`${server.issuer}/interaction/${uid}/signup`);
      expect(form.status).toBe(404);
      expect(form.text).toContain("by invitation only");

      await server.services.signUp.invite("invited@example.com");
      const [mail] = await mailsTo(server, "invited@example.com");
      expect(mail?.subject).toMatch(/invited/);
      const stored = await server.database.prisma.emailLink.findFirstOrThrow({ where: { email: "invited@example.com" } });
      expect(stored.purpose).toBe("invitation");
      const elsewhere = new BrowserSession();
      const page = await elsewhere.get(mail?.link as string);
      expect(page.status).toBe(200);
      expect(page.text).toContain("Create a passkey");
      const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
      const token = new URL(mail?.link as string).searchParams.get("token");
      const post = (path: string, body: unknown) => elsewhere.postJson(`${server.issuer}/signup/passkey/register${path}`, csrf, body);
      const { challenge } = JSON.parse((await post("/options", { token })).text) as { challenge: string };
      const created = await post("/verify", { ...new SoftwareAuthenticator().registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" }), token });
      // Not started from an app: the account is ready, and nobody is signed in by it.
      expect(JSON.parse(created.text)).toEqual({ redirectTo: "/signup/done" });
      expect(await server.database.prisma.user.findUnique({ where: { email: "invited@example.com" } })).toMatchObject({ emailVerified: true });
      await expect(server.services.signUp.invite("invited@example.com")).rejects.toThrow("already exists");
    } finally {
      await server.stop();
    }
  });

  it("off: no sign-up and no invitations", async () => {
    const server = await startTestServer("pglite", { signUp: { mode: "off" } });
    try {
      await expect(server.services.signUp.invite("someone@example.com")).rejects.toThrow("sign-up is off");
    } finally {
      await server.stop();
    }
  });
});
