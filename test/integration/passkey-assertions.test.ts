import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACR } from "../../src/auth/assurance.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { type AssertionOverrides, FLAGS, SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// SECURITY-TESTS.md §10–13 with real signatures from a software authenticator, one field wrong at a time.
describe("passkey assertions", () => {
  let server: TestServer;
  let rp: RelyingParty;
  const logLines: string[] = [];
  const rpId = "127.0.0.1";
  let alice: { id: string; authenticator: SoftwareAuthenticator };
  let bobId: string;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { logLines });
    rp = await registerRelyingParty(server);
    alice = { id: (await server.services.users.create({ email: "alice@example.com", password: PASSWORD })).id, authenticator: new SoftwareAuthenticator() };
    bobId = (await server.services.users.create({ email: "bob@example.com", password: PASSWORD })).id;
    const registered = await registerPasskey("alice@example.com", alice.authenticator);
    expect(registered.status).toBe(200);
  });
  afterAll(() => server?.stop());

  async function openInteraction() {
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp);
    const page = await browser.follow(start.url.toString(), server.issuer);
    const post = (path: string, body: unknown, csrf = csrfTokenOf(page.text)) => browser.postJson(`${page.url}${path}`, csrf, body);
    return { browser, page, post, start };
  }

  /** Password sign-in, then "Create a passkey" with the software authenticator. */
  async function registerPasskey(email: string, authenticator: SoftwareAuthenticator) {
    const { browser, page } = await openInteraction();
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    const prompt = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD });
    expect(prompt.text).toContain("Create a passkey");
    const csrf = csrfTokenOf(prompt.text);
    const post = (path: string, body: unknown) => browser.postJson(`${page.url}${path}`, csrf, body);
    const options = JSON.parse((await post("/passkey/register/options", {})).text) as { challenge: string; authenticatorSelection: Record<string, string> };
    expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
    return post("/passkey/register/verify", authenticator.registration({ challenge: options.challenge, origin: server.issuer, rpId }));
  }

  /** What a sign-in records on Alice's (only) credential, and a refused one must leave as it was. */
  async function aliceCredentialUse() {
    const { counter, lastUsedAt, backedUp } = await server.database.prisma.credential.findFirstOrThrow({ where: { userId: alice.id } });
    return { counter, lastUsedAt, backedUp };
  }

  /** Runs `attempt`, which must be refused with 400 and `code`, leaving Alice's credential untouched. */
  async function expectRefused(attempt: () => Promise<PageResponse>, code: string) {
    const before = await aliceCredentialUse();
    const response = await attempt();
    expect({ status: response.status, error: JSON.parse(response.text).error }).toEqual({ status: 400, error: code });
    expect(await aliceCredentialUse()).toEqual(before);
  }

  async function signIn(overrides: AssertionOverrides = {}, userId = alice.id, authenticator = alice.authenticator) {
    const { post } = await openInteraction();
    const { challenge } = JSON.parse((await post("/passkey/authenticate/options", {})).text) as { challenge: string };
    const assertion = authenticator.assertion({ challenge, origin: server.issuer, rpId }, userId, overrides);
    const response = await post("/passkey/authenticate/verify", assertion);
    return { response, assertion, error: response.status === 200 ? null : (JSON.parse(response.text) as { error: string }).error };
  }

  it("records and mails the passkey added after the password sign-in", async () => {
    const events = await server.services.events.listForUser(alice.id);
    expect(events.map((event) => event.type)).toContain("passkey.added");
    const mails = await mailsTo(server, "alice@example.com");
    expect(mails.some((mail) => mail.text.includes("A passkey was added"))).toBe(true);
  });

  it("signs in with a valid assertion and records the use", async () => {
    const before = new Date();
    const { response } = await signIn();
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text).redirectTo).toMatch(new RegExp(`^${server.issuer}/auth/`));
    const { counter, lastUsedAt } = await aliceCredentialUse();
    expect(lastUsedAt?.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(lastUsedAt?.getTime()).toBeLessThanOrEqual(Date.now());
    expect(counter).toBe(BigInt(alice.authenticator.signCount));
  });

  it("refuses a replayed assertion on a new challenge (§10)", async () => {
    const first = await signIn();
    expect(first.response.status).toBe(200);
    const { post } = await openInteraction();
    await post("/passkey/authenticate/options", {});
    await expectRefused(() => post("/passkey/authenticate/verify", first.assertion), "passkey.verification_failed");
  });

  // All one code, on purpose (see passkey-service.ts): which check failed is not told to the sender.
  it.each<[string, AssertionOverrides]>([
    ["a wrong origin (§11)", { origin: "https://evil.example" }],
    ["a wrong RP ID hash (§11)", { rpId: "evil.example" }],
    ["user presence not set (§12)", { flags: FLAGS.UV }],
    ["user verification not set (§12)", { flags: FLAGS.UP }],
    ["tampered client data", { tamper: true }],
    ["a changed backup-eligible flag", { flags: FLAGS.UP | FLAGS.UV | FLAGS.BE }],
    ["no userHandle (usernameless needs it)", { userHandle: null }],
  ])("refuses %s", async (_label, overrides) => {
    await expectRefused(async () => (await signIn(overrides)).response, "passkey.verification_failed");
  });

  it("refuses an assertion whose userHandle names another account", async () => {
    await expectRefused(async () => (await signIn({}, bobId)).response, "passkey.verification_failed");
  });

  it("tells the holder of a passkey registered to no one that it is unknown here", async () => {
    await expectRefused(async () => (await signIn({}, alice.id, new SoftwareAuthenticator())).response, "passkey.unknown_credential");
  });

  it("refuses a webauthn.create client data in an assertion (§11)", async () => {
    const { error } = await signIn({ type: "webauthn.create" });
    expect(error).toBe("passkey.wrong_ceremony");
  });

  it("refuses a counter that went backwards and logs a security event", async () => {
    expect((await signIn({ signCount: 50 })).response.status).toBe(200);
    await expectRefused(async () => (await signIn({ signCount: 10 })).response, "passkey.verification_failed");
    expect((await aliceCredentialUse()).counter).toBe(50n);
    // Recorded (and logged) before the refusal is sent: nothing to wait for.
    expect(logLines.some((line) => line.includes('"securityEvent":"passkey.counter_regression"'))).toBe(true);
    const [event] = await server.services.events.listForUser(alice.id);
    expect(event).toMatchObject({ type: "passkey.counter_regression", outcome: "refused" });
    expect((await signIn({ signCount: 51 })).response.status).toBe(200);
  });

  describe("as the second factor after a password", () => {
    /** Password sign-in for a user who has a passkey: the second-factor page, and its JSON poster. */
    async function passwordThenSecondFactor(email: string) {
      const { browser, page, start } = await openInteraction();
      const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
      const secondFactorPage = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD });
      expect(secondFactorPage.text).toContain('data-passkey-action="second-factor"');
      const post = (path: string, body: unknown) => browser.postJson(`${page.url}${path}`, csrfTokenOf(secondFactorPage.text), body);
      const options = JSON.parse((await post("/passkey/second-factor/options", {})).text) as { challenge: string; allowCredentials: { id: string }[] };
      return { browser, post, options, start };
    }

    it("asks for one of the user's own credentials and reaches the passkey level with pwd in amr", async () => {
      const { browser, post, options, start } = await passwordThenSecondFactor("alice@example.com");
      const stored = await server.database.prisma.credential.findMany({ where: { userId: alice.id } });
      expect(options.allowCredentials.map((c) => c.id)).toEqual(stored.map((c) => c.id));
      const assertion = alice.authenticator.assertion({ challenge: options.challenge, origin: server.issuer, rpId }, alice.id, { userHandle: null });
      const verified = await post("/passkey/second-factor/verify", assertion);
      expect(verified.status).toBe(200);
      const consent = await browser.follow(JSON.parse(verified.text).redirectTo, server.issuer);
      const consentAction = new URL(formActionOf(consent.text, "/consent"), server.issuer).toString();
      const final = await browser.follow(consentAction, server.issuer, await browser.postForm(consentAction, { _csrf: csrfTokenOf(consent.text) }));
      const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(final.location as string), {
        pkceCodeVerifier: start.codeVerifier,
        expectedState: start.state,
        expectedNonce: start.nonce,
      });
      expect(tokens.claims()).toMatchObject({ sub: alice.id, acr: ACR.passkey, amr: ["pwd", "hwk", "user"] });
    });

    it("refuses another user's passkey as this user's second factor", async () => {
      const carolId = (await server.services.users.create({ email: "carol@example.com", password: PASSWORD })).id;
      const carolKey = new SoftwareAuthenticator();
      expect((await registerPasskey("carol@example.com", carolKey)).status).toBe(200);
      const { post, options } = await passwordThenSecondFactor("alice@example.com");
      const foreign = carolKey.assertion({ challenge: options.challenge, origin: server.issuer, rpId }, carolId);
      await expectRefused(() => post("/passkey/second-factor/verify", foreign), "passkey.verification_failed");
    });

    it("refuses a passkey registered to no one alike, so the answer does not tell which credentials exist", async () => {
      const { post, options } = await passwordThenSecondFactor("alice@example.com");
      const unknown = new SoftwareAuthenticator().assertion({ challenge: options.challenge, origin: server.issuer, rpId }, alice.id);
      await expectRefused(() => post("/passkey/second-factor/verify", unknown), "passkey.verification_failed");
    });
  });

  it("max_age=0 asks the signed-in user for a fresh check with their own passkey, not a whole new sign-in", async () => {
    const { browser, post } = await openInteraction();
    const { challenge } = JSON.parse((await post("/passkey/authenticate/options", {})).text) as { challenge: string };
    const signedIn = await post("/passkey/authenticate/verify", alice.authenticator.assertion({ challenge, origin: server.issuer, rpId }, alice.id));
    await browser.follow(JSON.parse(signedIn.text).redirectTo, server.issuer);

    const fresh = await browser.follow((await authorizationRequest(rp, { max_age: "0" })).url.toString(), server.issuer);
    expect(fresh.text).toContain("Confirm it&#39;s you");
    expect(fresh.text).toContain("alice@example.com");
    expect(fresh.text).toContain('data-passkey-action="reverify"');
    expect(fresh.text).toContain("Use another account");
    const reverify = (path: string, body: unknown) => browser.postJson(`${fresh.url}${path}`, csrfTokenOf(fresh.text), body);
    const options = JSON.parse((await reverify("/passkey/reverify/options", {})).text) as { challenge: string; allowCredentials: { id: string }[] };
    const aliceKeys = await server.database.prisma.credential.findMany({ where: { userId: alice.id } });
    expect(options.allowCredentials.map((c) => c.id)).toEqual(aliceKeys.map((c) => c.id));
    // Another account's passkey does not confirm Alice.
    const daveId = (await server.services.users.create({ email: "dave@example.com", password: PASSWORD })).id;
    const daveKey = new SoftwareAuthenticator();
    expect((await registerPasskey("dave@example.com", daveKey)).status).toBe(200);
    await expectRefused(
      () => reverify("/passkey/reverify/verify", daveKey.assertion({ challenge: options.challenge, origin: server.issuer, rpId }, daveId)),
      "passkey.verification_failed",
    );

    const { challenge: fresher } = JSON.parse((await reverify("/passkey/reverify/options", {})).text) as { challenge: string };
    const confirmed = await reverify("/passkey/reverify/verify", alice.authenticator.assertion({ challenge: fresher, origin: server.issuer, rpId }, alice.id));
    expect(confirmed.status).toBe(200);
    expect(JSON.parse(confirmed.text).redirectTo).toMatch(new RegExp(`^${server.issuer}/auth/`));

    // "Use another account" shows the whole sign-in page.
    const another = await browser.get(`${fresh.url}?another=1`);
    expect(another.text).toContain("Sign in with a passkey");
  });

  it("refuses a credential id already registered, for any user (§13)", async () => {
    const response = await registerPasskey("bob@example.com", alice.authenticator);
    expect(response.status).toBe(409);
    expect(JSON.parse(response.text).error).toBe("passkey.already_registered");
    expect(await server.database.prisma.credential.count({ where: { userId: bobId } })).toBe(0);
  });
});
