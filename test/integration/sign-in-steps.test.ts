import * as oidc from "openid-client";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACR } from "../../src/auth/assurance.js";
import type { Stage } from "../../src/interactions/step-machine.js";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { mailsTo } from "../helpers/outbox.js";
import { type AuthorizationStart, authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { enrolTotp as enrolTotpFor } from "../helpers/totp.js";

/** Every POST of the interaction and the stages it answers (SECURITY-TESTS.md §26). */
const POST_ROUTES: [string, Stage[]][] = [
  ["/login", ["login", "reverify"]],
  ["/signup", ["login", "reverify"]],
  ["/recover", ["login", "reverify"]],
  ["/passkey/authenticate/options", ["login", "reverify"]],
  ["/passkey/authenticate/verify", ["login", "reverify"]],
  ["/consent", ["consent"]],
  ["/mfa", ["second_factor"]],
  ["/passkey/second-factor/options", ["second_factor"]],
  ["/passkey/second-factor/verify", ["second_factor"]],
  ["/enrol/totp", ["enrolment"]],
  ["/enrol/totp/confirm", ["enrolment"]],
  ["/passkey/enrol/options", ["enrolment"]],
  ["/passkey/enrol/verify", ["enrolment"]],
  ["/enrol/continue", ["enrolled"]],
  ["/passkey/register/options", ["passkey_offer"]],
  ["/passkey/register/verify", ["passkey_offer"]],
  ["/passkey/skip", ["passkey_offer"]],
  ["/passkey/reverify/options", ["reverify"]],
  ["/passkey/reverify/verify", ["reverify"]],
];

interface AtStage {
  browser: BrowserSession;
  page: PageResponse;
  uid: string;
  userId: string;
  start: AuthorizationStart;
  post(path: string, body?: unknown): Promise<PageResponse>;
}

// Issue #10: a password alone, or a session cookie alone, must never skip a factor or add one.
describe.each(DATABASE_KINDS)("sign-in step machine (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let thirdParty: RelyingParty;
  let mfaRequired: RelyingParty;
  let passkeyRequired: RelyingParty;
  let staffOnly: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server, { firstParty: true });
    thirdParty = await registerRelyingParty(server);
    mfaRequired = await registerRelyingParty(server, { firstParty: true });
    await server.services.clients.update(mfaRequired.clientId, { minimumAcr: "mfa" });
    passkeyRequired = await registerRelyingParty(server, { firstParty: true });
    await server.services.clients.update(passkeyRequired.clientId, { minimumAcr: "passkey" });
    staffOnly = await registerRelyingParty(server, { firstParty: true });
    await server.services.groups.create("staff");
    await server.services.clients.update(staffOnly.clientId, { allowedGroups: ["staff"] });
  });
  afterAll(() => server?.stop());

  async function newUser() {
    const email = `steps-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  const enrolTotp = (user: { id: string; email: string }) => enrolTotpFor(server, user);

  const uidOf = (page: PageResponse) => (page.text.match(/\/interaction\/([^/"?]+)/)?.[1] ?? page.url.match(/\/interaction\/([^/?]+)/)?.[1]) as string;

  function atStage(browser: BrowserSession, page: PageResponse, userId: string, start: AuthorizationStart): AtStage {
    const uid = uidOf(page);
    const csrf = csrfTokenOf(page.text);
    return {
      browser,
      page,
      uid,
      userId,
      start,
      post: (path, body = {}) => browser.postJson(`${server.issuer}/interaction/${uid}${path}`, csrf, body),
    };
  }

  async function passwordStep(browser: BrowserSession, client: RelyingParty, email: string, extra: Record<string, string> = {}) {
    const start = await authorizationRequest(client, extra);
    const page = await browser.follow(start.url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    return {
      start,
      page: await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD })),
    };
  }

  async function postForm(browser: BrowserSession, page: PageResponse, pathEnd: string, fields: Record<string, string> = {}) {
    const action = new URL(formActionOf(page.text, pathEnd), server.issuer).toString();
    return browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), ...fields }));
  }

  async function redeem(client: RelyingParty, final: PageResponse, start: AuthorizationStart) {
    if (!final.location) throw new Error(`expected a redirect to the app, got ${final.status}: ${final.text.slice(0, 300)}`);
    const tokens = await oidc.authorizationCodeGrant(client.config, new URL(final.location), {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    return tokens.claims() as oidc.IDToken;
  }

  /** A signed-in browser: password + TOTP through the pages (session at mfa). */
  async function signedInWithTotp() {
    const user = await newUser();
    const codeAt = await enrolTotp(user);
    const browser = new BrowserSession();
    const { start, page } = await passwordStep(browser, rp, user.email);
    const offer = await postForm(browser, page, "/mfa", { code: await codeAt(Date.now()) });
    expect(offer.text).toContain("/passkey/skip");
    const claims = await redeem(rp, await postForm(browser, offer, "/passkey/skip"), start);
    expect(claims).toMatchObject({ acr: ACR.mfa, amr: ["pwd", "otp"] });
    return { user, browser, claims, codeAt };
  }

  const stageSetups: Record<Stage, () => Promise<AtStage>> = {
    login: async () => {
      const user = await newUser();
      const browser = new BrowserSession();
      const start = await authorizationRequest(rp);
      return atStage(browser, await browser.follow(start.url.toString(), server.issuer), user.id, start);
    },
    second_factor: async () => {
      const user = await newUser();
      await enrolTotp(user);
      const browser = new BrowserSession();
      const { start, page } = await passwordStep(browser, rp, user.email);
      expect(page.text).toContain('name="code"');
      return atStage(browser, page, user.id, start);
    },
    passkey_offer: async () => {
      const user = await newUser();
      const browser = new BrowserSession();
      const { start, page } = await passwordStep(browser, rp, user.email);
      expect(page.text).toContain("/passkey/skip");
      return atStage(browser, page, user.id, start);
    },
    enrolment: async () => {
      const user = await newUser();
      const browser = new BrowserSession();
      const { start, page } = await passwordStep(browser, mfaRequired, user.email);
      expect(page.text).toContain("Set up a second factor");
      return atStage(browser, page, user.id, start);
    },
    enrolled: async () => {
      const at = await stageSetups.enrolment();
      const enrol = await postForm(at.browser, at.page, "/enrol/totp");
      const secret = enrol.text.match(/<code id="totp-secret">([A-Z2-7]+)<\/code>/)?.[1] as string;
      const done = await postForm(at.browser, enrol, "/enrol/totp/confirm", { code: await generate({ secret }) });
      expect(done.text).toContain("Your authenticator app is set up");
      return atStage(at.browser, done, at.userId, at.start);
    },
    reverify: async () => {
      const { user, browser } = await signedInWithTotp();
      const start = await authorizationRequest(rp, { prompt: "login" });
      const page = await browser.follow(start.url.toString(), server.issuer);
      expect(page.text).toContain("The app asks you to confirm");
      return atStage(browser, page, user.id, start);
    },
    consent: async () => {
      const { user, browser } = await signedInWithTotp();
      const start = await authorizationRequest(thirdParty);
      const page = await browser.follow(start.url.toString(), server.issuer);
      expect(page.text).toContain("/consent");
      return atStage(browser, page, user.id, start);
    },
    access: async () => {
      const user = await newUser();
      const browser = new BrowserSession();
      const { start, page } = await passwordStep(browser, staffOnly, user.email);
      const refused = await postForm(browser, page, "/passkey/skip");
      expect(refused.text).toContain("You don't have access to");
      return atStage(browser, refused, user.id, start);
    },
    sign_up: async () => {
      throw new Error("sign_up is a hand-over row, not a stage an interaction page is in");
    },
  };

  const stageRow = (uid: string) => server.database.prisma.signInStep.findUnique({ where: { id: uid } });
  const credentialsOf = (userId: string) => server.database.prisma.credential.count({ where: { userId } });

  it("keeps a sign-in's app set-up after a wrong code: the same secret again, and the right code then moves on (issue #15)", async () => {
    const at = await stageSetups.enrolment();
    const secretOf = (page: PageResponse) => page.text.match(/<code id="totp-secret">([A-Z2-7]+)<\/code>/)?.[1];
    const enrol = await postForm(at.browser, at.page, "/enrol/totp");
    const secret = secretOf(enrol) as string;
    const wrong = await postForm(at.browser, enrol, "/enrol/totp/confirm", { code: "000000" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("That code did not match.");
    expect(secretOf(wrong)).toBe(secret);
    expect((await stageRow(at.uid))?.stage).toBe("enrolment");
    const done = await postForm(at.browser, wrong, "/enrol/totp/confirm", { code: await generate({ secret }) });
    expect(done.text).toContain("Your authenticator app is set up");
    expect((await stageRow(at.uid))?.stage).toBe("enrolled");
  });

  for (const stage of ["login", "second_factor", "passkey_offer", "enrolment", "enrolled", "reverify", "access", "consent"] as const) {
    it(`refuses every POST meant for another stage while in ${stage}, changing nothing (§26)`, async () => {
      const at = await stageSetups[stage]();
      const before = await stageRow(at.uid);
      const refused = POST_ROUTES.filter(([, stages]) => !stages.includes(stage));
      const answers = await Promise.all(refused.map(async ([path]) => ({ path, response: await at.post(path, { code: "123456", email: "x@example.com" }) })));
      for (const { path, response } of answers) {
        expect({ path, status: response.status }).toEqual({ path, status: 403 });
        expect(JSON.parse(response.text).error).toBe("interaction.wrong_step");
      }
      expect(await stageRow(at.uid)).toEqual(before);
      expect(await credentialsOf(at.userId)).toBe(0);
    });
  }

  it("a password alone cannot finish a TOTP user's sign-in through enrol/continue (§26, issue #10 case 1)", async () => {
    const at = await stageSetups.second_factor();
    const skipped = await at.post("/enrol/continue");
    expect(skipped.status).toBe(403);
    expect(skipped.headers.get("location")).toBeNull();
    // The sign-in is still waiting for the code, and the code still completes it.
    expect((await stageRow(at.uid))?.stage).toBe("second_factor");
  });

  it("a password alone cannot plant the attacker's passkey on a TOTP user's account (§27, case 2)", async () => {
    const at = await stageSetups.second_factor();
    const options = await at.post("/passkey/enrol/options");
    expect(options.status).toBe(403);
    const attacker = new SoftwareAuthenticator();
    const verify = await at.post("/passkey/enrol/verify", attacker.registration({ challenge: "AAAA", origin: server.issuer, rpId: "127.0.0.1" }));
    expect(verify.status).toBe(403);
    expect(await credentialsOf(at.userId)).toBe(0);
    const offer = await at.post("/passkey/register/options");
    expect(offer.status).toBe(403);
    expect(await credentialsOf(at.userId)).toBe(0);
  });

  it("a stolen session cookie cannot add a factor through step-up (§27, case 3)", async () => {
    const { user, browser } = await signedInWithTotp();
    const thief = new BrowserSession(browser.jar);

    // A voluntary level nobody can reach here continues at the session's level: nothing to enrol.
    const voluntary = await authorizationRequest(rp, { acr_values: ACR.passkey });
    const answer = await thief.follow(voluntary.url.toString(), server.issuer);
    expect(answer.text).not.toContain("Set up a second factor");

    // A client that requires a passkey: the thief is asked to prove it is the user first.
    const start = await authorizationRequest(passkeyRequired);
    const page = await thief.follow(start.url.toString(), server.issuer);
    expect(page.text).toContain("The app asks you to confirm");
    expect(page.text).toContain('type="password"');
    const at = atStage(thief, page, user.id, start);
    for (const path of ["/passkey/enrol/options", "/enrol/totp", "/passkey/register/options", "/enrol/continue"]) {
      expect({ path, status: (await at.post(path)).status }).toEqual({ path, status: 403 });
    }
    expect(await credentialsOf(user.id)).toBe(0);
    expect(await server.database.prisma.totpFactor.count({ where: { userId: user.id } })).toBe(1);
  });

  it("a stolen cookie of a password-only user meets a required level with a password check, not an enrolment (§27)", async () => {
    const user = await newUser();
    const browser = new BrowserSession();
    const first = await passwordStep(browser, rp, user.email);
    await postForm(browser, first.page, "/passkey/skip");
    const thief = new BrowserSession(browser.jar);
    const start = await authorizationRequest(mfaRequired);
    const page = await thief.follow(start.url.toString(), server.issuer);
    expect(page.text).toContain("The app asks you to confirm");
    expect(page.text).not.toContain("Set up a second factor");
    const at = atStage(thief, page, user.id, start);
    expect((await at.post("/enrol/totp")).status).toBe(403);
    expect((await at.post("/passkey/enrol/options")).status).toBe(403);
    expect(await server.database.prisma.totpFactor.count({ where: { userId: user.id } })).toBe(0);

    // The owner, who knows the password, is then guided to set up a factor.
    const enrol = await postForm(thief, page, "/login", { email: user.email, password: PASSWORD });
    expect(enrol.text).toContain("Set up a second factor");
  });

  it("keeps auth_time when a step-up verified nothing afresh (a stolen cookie cannot make a session look fresh)", async () => {
    const { browser } = await signedInWithTotp();
    // Move the session's sign-in an hour back, as if it had happened then.
    const cookie = (await browser.jar.getCookies(server.issuer)).find((candidate) => candidate.key === "idp_session")?.value as string;
    const session = await server.provider.Session.find(cookie);
    if (!session) throw new Error("no session");
    const signedInAt = (session.loginTs as number) - 3600;
    session.loginTs = signedInAt;
    await session.save(3600);
    const start = await authorizationRequest(rp, { acr_values: ACR.passkey });
    const again = await redeem(rp, await browser.follow(start.url.toString(), server.issuer), start);
    expect(again.auth_time).toBe(signedInAt);
    expect(again.acr).toBe(ACR.mfa);
  });

  it("asks a password + TOTP user for the code before a required passkey is set up; the new passkey is recorded and mailed (§27)", async () => {
    const user = await newUser();
    const codeAt = await enrolTotp(user);
    const browser = new BrowserSession();
    const { start, page } = await passwordStep(browser, passkeyRequired, user.email);
    expect(page.text).toContain('name="code"');
    const enrolment = await postForm(browser, page, "/mfa", { code: await codeAt(Date.now()) });
    expect(enrolment.text).toContain("Set up a second factor");
    const at = atStage(browser, enrolment, user.id, start);
    const { challenge } = JSON.parse((await at.post("/passkey/enrol/options")).text) as { challenge: string };
    const created = await at.post("/passkey/enrol/verify", new SoftwareAuthenticator().registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" }));
    expect(created.status).toBe(200);
    const claims = await redeem(
      passkeyRequired,
      await browser.follow(new URL(JSON.parse(created.text).redirectTo, server.issuer).toString(), server.issuer),
      start,
    );
    expect(claims).toMatchObject({ sub: user.id, acr: ACR.passkey, amr: ["pwd", "otp", "hwk", "user"] });
    expect(await credentialsOf(user.id)).toBe(1);
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("passkey.added");
    expect((await mailsTo(server, user.email)).some((mail) => /passkey was added/i.test(mail.text))).toBe(true);
  });

  it("lets exactly one of 20 parallel 'Continue' posts finish an enrolment (§26: no fork)", async () => {
    const at = await stageSetups.enrolled();
    const answers = await Promise.all(Array.from({ length: 20 }, () => at.post("/enrol/continue")));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 303)).toHaveLength(1);
    expect(statuses.filter((status) => status === 403)).toHaveLength(19);
    expect(await stageRow(at.uid)).toBeNull();
  });

  it("stores one passkey when 'Not now' and 'Create a passkey' race, or none (§26)", async () => {
    const at = await stageSetups.passkey_offer();
    const { challenge } = JSON.parse((await at.post("/passkey/register/options")).text) as { challenge: string };
    const registration = new SoftwareAuthenticator().registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" });
    const [skip, create] = await Promise.all([at.post("/passkey/skip"), at.post("/passkey/register/verify", registration)]);
    const won = [skip.status === 303, create.status === 200].filter(Boolean);
    expect(won).toHaveLength(1);
    expect(await credentialsOf(at.userId)).toBe(create.status === 200 ? 1 : 0);
  });

  it("refuses a disabled account's passkey at sign-in: no session, no device cookie", async () => {
    const offer = await stageSetups.passkey_offer();
    const authenticator = new SoftwareAuthenticator();
    const { challenge } = JSON.parse((await offer.post("/passkey/register/options")).text) as { challenge: string };
    expect((await offer.post("/passkey/register/verify", authenticator.registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" }))).status).toBe(
      200,
    );
    await server.services.userAdmin.disable(offer.userId);

    const at = await stageSetups.login();
    const options = JSON.parse((await at.post("/passkey/authenticate/options")).text) as { challenge: string };
    const refused = await at.post(
      "/passkey/authenticate/verify",
      authenticator.assertion({ challenge: options.challenge, origin: server.issuer, rpId: "127.0.0.1" }, offer.userId),
    );
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).error).toBe("account.disabled");
    const cookies = (await at.browser.jar.getCookies(server.issuer)).map((cookie) => cookie.key);
    expect(cookies.some((name) => name.startsWith("idp_session") || name === "idp_device")).toBe(false);
  });

  it("does not confirm an authenticator app where a passkey is required, even with a pending secret", async () => {
    const user = await newUser();
    // A set-up started elsewhere (another interaction, or the account page) leaves a pending secret.
    const { secret } = await server.services.totp.startEnrolment(user);
    const browser = new BrowserSession();
    const { page } = await passwordStep(browser, passkeyRequired, user.email);
    expect(page.text).toContain("Set up a second factor");
    const at = atStage(browser, page, user.id, await authorizationRequest(passkeyRequired));
    const confirm = await at.post("/enrol/totp/confirm", { code: await generate({ secret }) });
    expect(confirm.status).toBe(400);
    expect(JSON.parse(confirm.text).error).toBe("mfa.passkey_required");
    expect(await server.services.totp.isEnabled(user.id)).toBe(false);
    expect((await stageRow(at.uid))?.stage).toBe("enrolment");
  });

  it("answers an email with a NUL byte like a wrong password, never a 500 (§34)", async () => {
    const at = await stageSetups.login();
    const answer = await at.browser.postForm(`${server.issuer}/interaction/${at.uid}/login`, {
      _csrf: csrfTokenOf(at.page.text),
      email: "victim\u0000@example.com",
      password: PASSWORD,
    });
    expect(answer.status).toBe(400);
    expect(answer.text).not.toContain("Something went wrong");
  });
});
