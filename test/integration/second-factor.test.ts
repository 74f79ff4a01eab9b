import * as oidc from "openid-client";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACR } from "../../src/auth/assurance.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { type AuthorizationStart, authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { enrolTotp as enrolTotpFor } from "../helpers/totp.js";

// Issue #4: second factors, the policy that a password alone is not enough when a user has one,
// step-up on acr_values / the claims parameter / a client's minimum, and SECURITY-TESTS.md §16–18.
describe.each(DATABASE_KINDS)("second factors and step-up (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer(kind, { throttle: { secondFactorFailuresPerAccount: 5 } });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  async function newUser() {
    const email = `mfa-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  const enrolTotp = (user: { id: string; email: string }) => enrolTotpFor(server, user);

  async function passwordStep(browser: BrowserSession, start: AuthorizationStart, email: string): Promise<PageResponse> {
    const page = await browser.follow(start.url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    return browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD });
  }

  async function submitCode(browser: BrowserSession, page: PageResponse, code: string) {
    const action = new URL(formActionOf(page.text, "/mfa"), server.issuer).toString();
    const posted = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), code });
    return browser.follow(action, server.issuer, posted);
  }

  /** Follows to the relying party (skipping the passkey offer) and redeems the code. */
  async function redeem(browser: BrowserSession, page: PageResponse, start: AuthorizationStart) {
    let current = page;
    if (current.text.includes("/passkey/skip")) {
      const action = new URL(formActionOf(current.text, "/passkey/skip"), server.issuer).toString();
      current = await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(current.text) }));
    }
    if (!current.location) throw new Error(`expected a redirect, got ${current.status}: ${current.text.replace(/[\s\S]*<main/, "").slice(0, 600)}`);
    const callback = new URL(current.location);
    if (callback.searchParams.get("error")) return { error: callback.searchParams.get("error") as string };
    const tokens = await oidc.authorizationCodeGrant(rp.config, callback, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    return { claims: tokens.claims() };
  }

  it("stores the TOTP secret encrypted, and confirms enrolment only with a valid code", async () => {
    const user = await newUser();
    const { secret, uri, qrCode } = await server.services.totp.startEnrolment(user);
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(qrCode).toMatch(/^data:image\/png;base64,/);
    const row = await server.database.prisma.totpFactor.findUniqueOrThrow({ where: { userId: user.id } });
    expect(row.secretEncrypted).not.toContain(secret);
    expect(row.confirmedAt).toBeNull();
    expect(await server.services.totp.confirmEnrolment(user.id, "000000")).toBe(false);
    expect(await server.services.totp.isEnabled(user.id)).toBe(false);
    expect(await server.services.totp.confirmEnrolment(user.id, await generate({ secret }))).toBe(true);
    expect(await server.services.totp.isEnabled(user.id)).toBe(true);
    await expect(server.services.totp.startEnrolment(user)).rejects.toThrow("already set up");
  });

  it("asks a password user with an authenticator app for a code; the ID token says mfa with pwd and otp", async () => {
    const user = await newUser();
    const codeAt = await enrolTotp(user);
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    const challenge = await passwordStep(browser, start, user.email);
    expect(challenge.status).toBe(200);
    expect(challenge.text).toContain("Confirm it&#39;s you");
    expect(challenge.text).toContain('autocomplete="one-time-code"');
    const result = await redeem(browser, await submitCode(browser, challenge, await codeAt(Date.now())), start);
    expect(result.claims).toMatchObject({ sub: user.id, acr: ACR.mfa, amr: ["pwd", "otp"] });
  });

  it("accepts each TOTP code once, and never an older step after a newer one (§16)", async () => {
    const user = await newUser();
    const codeAt = await enrolTotp(user);
    const now = Date.now();
    expect(await server.services.totp.verify(user.id, await codeAt(now))).toBe(true);
    expect(await server.services.totp.verify(user.id, await codeAt(now))).toBe(false);
    // The previous step is still inside the ±1 window, but older than the one just used.
    expect(await server.services.totp.verify(user.id, await codeAt(now - 30_000))).toBe(false);
    // Two steps away is outside the window.
    expect(await server.services.totp.verify(user.id, await codeAt(now + 60_000))).toBe(false);

    // And through the page: a replayed code is refused with a clear message.
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    const challenge = await passwordStep(browser, start, user.email);
    const replay = await submitCode(browser, challenge, await codeAt(now));
    expect(replay.status).toBe(400);
    expect(replay.text).toContain("That code is not valid");
  });

  it("locks out guessing after 5 wrong codes, even for the right code, and records it (§17)", async () => {
    const user = await newUser();
    const codeAt = await enrolTotp(user);
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    let page = await passwordStep(browser, start, user.email);
    const statuses: number[] = [];
    for (const code of ["111111", "222222", "333333", "444444", "555555"]) {
      page = await submitCode(browser, page, code);
      statuses.push(page.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    const locked = await submitCode(browser, page, await codeAt(Date.now()));
    expect(locked.status).toBe(429);
    expect(locked.text).toMatch(/Too many wrong codes. Try again in \d+ minutes?\./);
    const events = await server.services.events.listForUser(user.id);
    expect(events.map((event) => `${event.type}:${event.outcome}`)).toContain("mfa.locked_out:refused");
    expect(events.filter((event) => event.type === "mfa.totp" && event.outcome === "failure")).toHaveLength(5);
  });

  it("lets each backup code work once and shows how many remain (§18)", async () => {
    const user = await newUser();
    const codes = await server.services.backupCodes.regenerate(user.id);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    const stored = await server.database.prisma.backupCode.findMany({ where: { userId: user.id } });
    expect(stored.some((row) => codes.includes(row.codeHash))).toBe(false);

    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    const challenge = await passwordStep(browser, start, user.email);
    const code = codes[0] as string;
    const result = await redeem(browser, await submitCode(browser, challenge, code.toUpperCase().replace(/-/g, " ")), start);
    expect(result.claims).toMatchObject({ acr: ACR.mfa, amr: ["pwd", "otp"] });
    expect(await server.services.backupCodes.remaining(user.id)).toBe(9);

    const again = new BrowserSession();
    const second = await passwordStep(again, await authorizationRequest(rp), user.email);
    expect((await submitCode(again, second, code)).status).toBe(400);
    const otherUser = await newUser();
    expect(await server.services.backupCodes.use(otherUser.id, codes[1] as string)).toBe(false);
    const regenerated = await server.services.backupCodes.regenerate(user.id);
    expect(await server.services.backupCodes.use(user.id, codes[1] as string)).toBe(false);
    expect(await server.services.backupCodes.use(user.id, regenerated[0] as string)).toBe(true);
  });

  it("steps a password session up to mfa on acr_values, asking only for the code", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const first = await authorizationRequest(rp);
    const signedIn = await passwordStep(browser, first, user.email);
    const firstResult = await redeem(browser, await browser.follow(signedIn.url, server.issuer, signedIn), first);
    expect(firstResult.claims).toMatchObject({ acr: ACR.password, amr: ["pwd"] });

    const codeAt = await enrolTotp(user);
    const start = await authorizationRequest(rp, { acr_values: ACR.mfa });
    const stepUp = await browser.follow(start.url.toString(), server.issuer);
    expect(stepUp.text).toContain('action="/interaction/');
    expect(stepUp.text).toContain("/mfa");
    expect(stepUp.text).not.toContain('type="password"');
    const result = await redeem(browser, await submitCode(browser, stepUp, await codeAt(Date.now())), start);
    expect(result.claims).toMatchObject({ sub: user.id, acr: ACR.mfa, amr: ["pwd", "otp"] });

    // Now at mfa: the same request is answered without asking again.
    const silent = await authorizationRequest(rp, { acr_values: ACR.mfa, prompt: "none" });
    const answer = await browser.follow(silent.url.toString(), server.issuer);
    expect(new URL(answer.location as string).searchParams.get("code")).toBeTruthy();
  });

  it("continues at the lower level for voluntary acr_values it cannot meet", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp, { acr_values: ACR.mfa });
    const after = await passwordStep(browser, start, user.email);
    const result = await redeem(browser, await browser.follow(after.url, server.issuer, after), start);
    expect(result.claims).toMatchObject({ acr: ACR.password });
  });

  it("returns unmet_authentication_requirements for an essential acr it cannot meet", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, value: ACR.mfa } } });
    const start = await authorizationRequest(rp, { claims });
    const after = await passwordStep(browser, start, user.email);
    const result = await redeem(browser, await browser.follow(after.url, server.issuer, after), start);
    expect(result.error).toBe("unmet_authentication_requirements");

    // An essential value the IdP does not issue can never be met either.
    const unknown = await authorizationRequest(rp, { claims: JSON.stringify({ id_token: { acr: { essential: true, value: "urn:other:gold" } } }) });
    const page = await browser.follow(unknown.url.toString(), server.issuer);
    const refused = page.location ? page : await passwordStep(browser, unknown, user.email);
    const final = refused.location ? await browser.follow(refused.location, server.issuer, refused) : refused;
    expect(new URL(final.location as string).searchParams.get("error")).toBe("unmet_authentication_requirements");
  });

  it("enforces a client's minimum level: a passkey-only client asks a password + code user for the code, then guides them to create a passkey (§27)", async () => {
    const strict = await registerRelyingParty(server, { firstParty: true });
    await server.services.clients.update(strict.clientId, { minimumAcr: "passkey" });
    const user = await newUser();
    const codeAt = await enrolTotp(user);
    const browser = new BrowserSession();
    const start = await authorizationRequest(strict);
    const codePage = await passwordStep(browser, start, user.email);
    // A code cannot reach the passkey level, but the factor the user has is checked before a new one is added.
    expect(codePage.text).toContain('name="code"');
    expect(codePage.text).not.toContain("Set up a second factor");
    const uid = codePage.url.match(/\/interaction\/([^/]+)/)?.[1] as string;
    const early = await browser.postJson(`${server.issuer}/interaction/${uid}/passkey/enrol/options`, csrfTokenOf(codePage.text), {});
    expect(early.status).toBe(403);

    const challenge = await submitCode(browser, codePage, await codeAt(Date.now()));
    expect(challenge.text).toContain("Set up a second factor");
    expect(challenge.text).toContain('data-passkey-action="enrol"');
    expect(challenge.text).not.toContain("/enrol/totp");
    expect(challenge.text).not.toContain('name="code"');
    // The code route refuses too (not only hidden).
    const refused = await browser.postForm(`${server.issuer}/interaction/${uid}/enrol/totp`, { _csrf: csrfTokenOf(challenge.text) });
    expect(refused.status).toBe(400);

    const post = (path: string, body: unknown) => browser.postJson(`${server.issuer}/interaction/${uid}${path}`, csrfTokenOf(challenge.text), body);
    const { challenge: webauthnChallenge } = JSON.parse((await post("/passkey/enrol/options", {})).text) as { challenge: string };
    const created = await post(
      "/passkey/enrol/verify",
      new SoftwareAuthenticator().registration({ challenge: webauthnChallenge, origin: server.issuer, rpId: "127.0.0.1" }),
    );
    expect(created.status).toBe(200);
    const final = await browser.follow(JSON.parse(created.text).redirectTo, server.issuer);
    const tokens = await oidc.authorizationCodeGrant(strict.config, new URL(final.location as string), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    expect(tokens.claims()).toMatchObject({ sub: user.id, acr: ACR.passkey, amr: ["pwd", "otp", "hwk", "user"] });
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("passkey.added");
  });

  it("still refuses an essential acr above the operator's minimum that cannot be met", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, value: ACR.passkey } } });
    const start = await authorizationRequest(rp, { claims });
    const after = await passwordStep(browser, start, user.email);
    const result = await redeem(browser, await browser.follow(after.url, server.issuer, after), start);
    expect(result.error).toBe("unmet_authentication_requirements");
  });
});

describe("a second factor required for everyone (policy.minimumAcr)", () => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer("pglite", { policy: { minimumAcr: ACR.mfa } });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  it("guides a password-only user through setting up an authenticator app, then continues at mfa", async () => {
    const id = await createUser(server, "policy@example.com");
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    let page = await browser.follow(start.url.toString(), server.issuer);
    const login = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await browser.postForm(login, { _csrf: csrfTokenOf(page.text), email: "policy@example.com", password: PASSWORD });
    expect(page.text).toContain("Set up a second factor");
    const enrol = await browser.postForm(new URL(formActionOf(page.text, "/enrol/totp"), server.issuer).toString(), { _csrf: csrfTokenOf(page.text) });
    const secret = enrol.text.match(/<code id="totp-secret">([A-Z2-7]+)<\/code>/)?.[1] as string;
    const confirm = new URL(formActionOf(enrol.text, "/enrol/totp/confirm"), server.issuer).toString();
    const done = await browser.postForm(confirm, { _csrf: csrfTokenOf(enrol.text), code: await generate({ secret }) });
    expect(done.text).toContain("Your authenticator app is set up");
    expect([...done.text.matchAll(/<li><code>/g)]).toHaveLength(10);
    const next = new URL(formActionOf(done.text, "/enrol/continue"), server.issuer).toString();
    const final = await browser.follow(next, server.issuer, await browser.postForm(next, { _csrf: csrfTokenOf(done.text) }));
    const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(final.location as string), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    expect(tokens.claims()).toMatchObject({ sub: id, acr: ACR.mfa, amr: ["pwd", "otp"] });
  });
});
