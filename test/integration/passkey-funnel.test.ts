import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run-command.js";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { FLAGS, SoftwareAuthenticator } from "../helpers/software-authenticator.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #16: the passkey offer after a password sign-in as a funnel (shown → created → "Not now").
describe("the passkey offer funnel", () => {
  let server: TestServer;
  let rp: RelyingParty;
  beforeAll(async () => {
    server = await startTestServer("pglite");
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  /** A password sign-in up to the offer page. */
  async function atOffer(email: string) {
    await createUser(server, email);
    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    const offer = await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD }));
    expect(offer.text).toContain("/passkey/skip");
    return { browser, offer };
  }

  async function funnel() {
    let stdout = "";
    const code = await runCommand(["events", "funnel", "--json"], { stdout: (text) => (stdout += text), stderr: () => {}, stdin: null }, server.services);
    expect(code).toBe(0);
    return JSON.parse(stdout) as { shown: number; created: number; automatic: number; skipped: number };
  }

  it("counts offers shown, passkeys created from them and skipped ones", async () => {
    const skipping = await atOffer("skips@example.com");
    const skip = new URL(formActionOf(skipping.offer.text, "/passkey/skip"), server.issuer).toString();
    await skipping.browser.postForm(skip, { _csrf: csrfTokenOf(skipping.offer.text) });

    const creating = await atOffer("creates@example.com");
    const uid = creating.offer.text.match(/\/interaction\/([^/"?]+)/)?.[1] as string;
    const csrf = csrfTokenOf(creating.offer.text);
    const options = JSON.parse((await creating.browser.postJson(`${server.issuer}/interaction/${uid}/passkey/register/options`, csrf, {})).text);
    const verify = await creating.browser.postJson(
      `${server.issuer}/interaction/${uid}/passkey/register/verify`,
      csrf,
      new SoftwareAuthenticator().registration({ challenge: options.challenge, origin: server.issuer, rpId: "127.0.0.1" }),
    );
    expect(verify.status, verify.text).toBe(200);

    // The password manager's own (conditional create, no user presence): created, and counted apart.
    const automatic = await atOffer("automatic@example.com");
    const autoUid = automatic.offer.text.match(/\/interaction\/([^/"?]+)/)?.[1] as string;
    const autoCsrf = csrfTokenOf(automatic.offer.text);
    const autoOptions = JSON.parse(
      (await automatic.browser.postJson(`${server.issuer}/interaction/${autoUid}/passkey/register/automatic/options`, autoCsrf, {})).text,
    );
    const silent = await automatic.browser.postJson(
      `${server.issuer}/interaction/${autoUid}/passkey/register/automatic/verify`,
      autoCsrf,
      new SoftwareAuthenticator().registration({ challenge: autoOptions.challenge, origin: server.issuer, rpId: "127.0.0.1" }, FLAGS.BE | FLAGS.BS),
    );
    expect(silent.status, silent.text).toBe(200);

    await atOffer("leaves@example.com");
    expect(await funnel()).toMatchObject({ shown: 4, created: 2, automatic: 1, skipped: 1 });
  });
});
