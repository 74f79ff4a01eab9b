import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { FLAGS, SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { enrolTotp } from "../helpers/totp.js";

// What a password manager's conditional create answers: no user presence, no verification.
const SILENT = FLAGS.BE | FLAGS.BS;

// Issue #16: an automatic passkey (conditional create) is accepted only for options issued as
// conditional, in this interaction, within a minute of the verified password sign-in.
describe.each(DATABASE_KINDS)("automatic passkey upgrade (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let users = 0;
  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());
  afterEach(() => restoreClock());

  /** A new user's password sign-in, up to the passkey offer. */
  async function atOffer() {
    const email = `auto${++users}@example.com`;
    const userId = await createUser(server, email);
    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    const offer = await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD }));
    expect(offer.text).toContain("data-automatic");
    const uid = offer.text.match(/\/interaction\/([^/"?]+)/)?.[1] as string;
    const csrf = csrfTokenOf(offer.text);
    const post = (path: string, body: unknown = {}) => browser.postJson(`${server.issuer}/interaction/${uid}/passkey/${path}`, csrf, body);
    const optionsOf = async (path: string) => {
      const response = await post(path);
      expect(response.status, response.text).toBe(200);
      return JSON.parse(response.text) as { challenge: string; authenticatorSelection: { userVerification: string } };
    };
    return { email, userId, uid, post, optionsOf };
  }

  const silentRegistration = (challenge: string, authenticator = new SoftwareAuthenticator()) =>
    authenticator.registration({ challenge, origin: server.issuer, rpId: "127.0.0.1" }, SILENT);
  const passkeysOf = async (userId: string) => (await server.services.credentials.listCredentialsOfUser(userId)).length;

  it("creates the passkey the password manager made without a dialog, mailed and recorded like any other", async () => {
    const offer = await atOffer();
    const options = await offer.optionsOf("register/automatic/options");
    expect(options.authenticatorSelection.userVerification).toBe("preferred");
    const verify = await offer.post("register/automatic/verify", silentRegistration(options.challenge));
    expect(verify.status, verify.text).toBe(200);
    expect(JSON.parse(verify.text).redirectTo).toMatch(/^http/);
    expect(await passkeysOf(offer.userId)).toBe(1);
    expect((await mailsTo(server, offer.email)).map((mail) => mail.subject)).toEqual([expect.stringContaining("Security change")]);
    const events = await server.services.events.listForUser(offer.userId, 10);
    expect(events.map((event) => event.type)).toContain("passkey_offer.automatic");
  });

  it("refuses a registration without user presence for options not issued as conditional", async () => {
    const offer = await atOffer();
    const options = await offer.optionsOf("register/options");
    // Verified but not present: what only a conditional create may answer.
    const verifiedOnly = new SoftwareAuthenticator().registration(
      { challenge: options.challenge, origin: server.issuer, rpId: "127.0.0.1" },
      FLAGS.UV | SILENT,
    );
    const refused = await offer.post("register/verify", verifiedOnly);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error).toBe("passkey.verification_failed");
    // Nor can ordinary options be answered at the automatic endpoint: their challenge is not one of its own.
    const other = await offer.optionsOf("register/options");
    expect((await offer.post("register/automatic/verify", silentRegistration(other.challenge))).status).toBe(400);
    expect(await passkeysOf(offer.userId)).toBe(0);
  });

  it("refuses after the minute: no options, and options issued in time are not accepted late", async () => {
    const late = await atOffer();
    moveClock(61);
    const refused = await late.post("register/automatic/options");
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error).toBe("passkey.automatic_window_closed");
    restoreClock();

    const slow = await atOffer();
    const options = await slow.optionsOf("register/automatic/options");
    moveClock(61);
    const tooLate = await slow.post("register/automatic/verify", silentRegistration(options.challenge));
    expect(JSON.parse(tooLate.text).error).toBe("passkey.automatic_window_closed");
    expect(await passkeysOf(slow.userId)).toBe(0);
    // The offer's own button still works: a passkey with presence and verification, the user's choice.
    const button = await slow.optionsOf("register/options");
    const created = await slow.post(
      "register/verify",
      new SoftwareAuthenticator().registration({ challenge: button.challenge, origin: server.issuer, rpId: "127.0.0.1" }),
    );
    expect(created.status, created.text).toBe(200);
  });

  it("counts the minute from the password, not from the second factor after it", async () => {
    const email = `auto${++users}@example.com`;
    const userId = await createUser(server, email);
    const codeAt = await enrolTotp(server, { id: userId, email });
    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    const mfa = await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD }));
    // 61 seconds on the second-factor page, then the code: the offer comes, but no longer silently.
    moveClock(61);
    const mfaAction = new URL(formActionOf(mfa.text, "/mfa"), server.issuer).toString();
    const offer = await browser.follow(
      mfaAction,
      server.issuer,
      await browser.postForm(mfaAction, { _csrf: csrfTokenOf(mfa.text), code: await codeAt(Date.now()) }),
    );
    expect(offer.text).toContain("/passkey/skip");
    const uid = offer.text.match(/\/interaction\/([^/"?]+)/)?.[1] as string;
    const refused = await browser.postJson(`${server.issuer}/interaction/${uid}/passkey/register/automatic/options`, csrfTokenOf(offer.text), {});
    expect(JSON.parse(refused.text).error).toBe("passkey.automatic_window_closed");
  });

  it("refuses without a password sign-in in this interaction, and another interaction's options", async () => {
    // Before any sign-in: the login stage has no offer.
    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const uid = page.url.split("/interaction/")[1] as string;
    const early = await browser.postJson(`${server.issuer}/interaction/${uid}/passkey/register/automatic/options`, csrfTokenOf(page.text), {});
    expect(early.status).toBe(403);
    expect(JSON.parse(early.text).error).toBe("interaction.wrong_step");

    const first = await atOffer();
    const second = await atOffer();
    const options = await first.optionsOf("register/automatic/options");
    const crossed = await second.post("register/automatic/verify", silentRegistration(options.challenge));
    expect(crossed.status).toBe(400);
    expect(await passkeysOf(second.userId)).toBe(0);
    expect(await passkeysOf(first.userId)).toBe(0);
  });

  it("answers hostile bodies with a clear 4xx, storing nothing", async () => {
    const offer = await atOffer();
    await offer.optionsOf("register/automatic/options");
    const answers = [
      { id: "x".repeat(100_000), rawId: "x", type: "public-key", response: {} },
      { id: "a\u0000b", response: [] },
      [],
      "\r\n",
      { response: { clientDataJSON: ["x"] } },
    ];
    for (const body of answers) {
      const response = await offer.post("register/automatic/verify", body);
      expect(response.status, JSON.stringify(body).slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
    expect(await passkeysOf(offer.userId)).toBe(0);
  });

  it("stores one passkey when the same answer arrives 50 times at once", async () => {
    const offer = await atOffer();
    const options = await offer.optionsOf("register/automatic/options");
    const answer = silentRegistration(options.challenge);
    const responses = await Promise.all(Array.from({ length: 50 }, () => offer.post("register/automatic/verify", answer)));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    expect(responses.every((response) => response.status < 500)).toBe(true);
    expect(await passkeysOf(offer.userId)).toBe(1);
  });
});
