import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { mailsTo } from "../helpers/outbox.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36";
const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";

// Issue #4 risk-based step-up: a silent re-authentication that looks unlike the session's earlier
// use (another browser family and another network) must pass a factor again.
describe("risk-based step-up", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { TRUST_PROXY: "true" } });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  function browserAt(userAgent: string, ip: string, jar?: BrowserSession["jar"]) {
    const browser = new BrowserSession(jar);
    browser.userAgent = userAgent;
    browser.forwardedFor = ip;
    return browser;
  }

  /** A user with an authenticator app, signed in from Chrome on Linux at 203.0.113.5. */
  async function signedInUser() {
    const email = `risk-${++counter}@example.com`;
    const id = await createUser(server, email);
    const { secret } = await server.services.totp.startEnrolment({ id, email });
    await server.services.totp.confirmEnrolment(id, await generate({ secret, epoch: Math.floor(Date.now() / 1000) - 30 }));
    const browser = browserAt(CHROME_LINUX, "203.0.113.5");
    let page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const login = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await browser.postForm(login, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD });
    page = await submitCode(browser, page, await generate({ secret }));
    page = await skipPasskeyOffer(browser, page);
    expect(page.location).toMatch(new RegExp(`^${RP_CALLBACK}`));
    return { id, email, secret, browser };
  }

  async function submitCode(browser: BrowserSession, page: PageResponse, code: string) {
    const action = new URL(formActionOf(page.text, "/mfa"), server.issuer).toString();
    return browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text), code }));
  }

  async function skipPasskeyOffer(browser: BrowserSession, page: PageResponse) {
    if (!page.text.includes("/passkey/skip")) return page;
    const action = new URL(formActionOf(page.text, "/passkey/skip"), server.issuer).toString();
    return browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text) }));
  }

  const silently = async (browser: BrowserSession, extra: Record<string, string> = {}) =>
    browser.follow((await authorizationRequest(rp, extra)).url.toString(), server.issuer);

  it("lets the same browser on a new network through, and records the evaluation", async () => {
    const user = await signedInUser();
    const moved = browserAt(CHROME_LINUX, "198.51.100.20", user.browser.jar);
    const answer = await silently(moved);
    expect(answer.location).toMatch(new RegExp(`^${RP_CALLBACK}.*code=`));
    const [event] = (await server.services.events.listForUser(user.id)).filter((e) => e.type === "risk.evaluated");
    expect(event).toMatchObject({ outcome: "success", details: { context: "silent", score: 30, reasons: "new_network" } });
  });

  it("makes a copied session cookie used from another browser and network pass the second factor", async () => {
    const user = await signedInUser();
    const thief = browserAt(FIREFOX_WINDOWS, "198.51.100.7", user.browser.jar);
    const noPrompt = await silently(thief, { prompt: "none" });
    expect(new URL(noPrompt.location as string).searchParams.get("error")).toBe("interaction_required");

    const challenged = await silently(thief);
    expect(challenged.location ?? "").not.toMatch(new RegExp(`^${RP_CALLBACK}`));
    expect(challenged.text).toContain('action="/interaction/');
    expect(challenged.text).toContain("/mfa");
    const [event] = (await server.services.events.listForUser(user.id)).filter((e) => e.type === "risk.evaluated");
    expect(event).toMatchObject({ outcome: "refused", details: { context: "silent", score: 70, reasons: "new_device new_network" } });

    // Someone who does hold the factor gets through, and is not asked again from there.
    const passed = await skipPasskeyOffer(
      thief,
      await submitCode(thief, challenged, await generate({ secret: user.secret, epoch: Math.floor(Date.now() / 1000) + 30 })),
    );
    expect(passed.location).toMatch(new RegExp(`^${RP_CALLBACK}.*code=`));
    expect((await silently(thief)).location).toMatch(new RegExp(`^${RP_CALLBACK}.*code=`));
  });

  it("scores a sign-in from a browser and network the account never used", async () => {
    const user = await signedInUser();
    const elsewhere = browserAt(FIREFOX_WINDOWS, "198.51.100.7");
    let page = await elsewhere.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const login = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await elsewhere.postForm(login, { _csrf: csrfTokenOf(page.text), email: user.email, password: PASSWORD });
    await submitCode(elsewhere, page, await generate({ secret: user.secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    const events = (await server.services.events.listForUser(user.id)).filter((e) => e.type === "risk.evaluated");
    expect(events[0]).toMatchObject({ outcome: "success", details: { context: "sign_in", score: 70 } });
    expect((await server.services.events.listForUser(user.id)).filter((e) => e.type === "sign_in")).toHaveLength(2);

    // The owner hears about the new browser, with time, device, place and where to act.
    const notices = (await mailsTo(server, user.email)).filter((mail) => mail.subject.startsWith("New sign-in"));
    expect(notices).toHaveLength(1);
    expect(notices[0]?.text).toContain("Device: Firefox on Windows");
    expect(notices[0]?.text).toContain("IP:     198.51.100.7");
    expect(notices[0]?.text).toContain(`${server.issuer}/account#sessions`);
  });

  it("sends no new-browser notice for a first sign-in or a browser seen before", async () => {
    const user = await signedInUser();
    const sameBrowser = browserAt(CHROME_LINUX, "198.51.100.30");
    let page = await sameBrowser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const login = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await sameBrowser.postForm(login, { _csrf: csrfTokenOf(page.text), email: user.email, password: PASSWORD });
    await submitCode(sameBrowser, page, await generate({ secret: user.secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    expect((await mailsTo(server, user.email)).filter((mail) => mail.subject.startsWith("New sign-in"))).toHaveLength(0);
  });

  it("asks a user without a second factor to sign in again", async () => {
    const email = `risk-${++counter}@example.com`;
    await createUser(server, email);
    const browser = browserAt(CHROME_LINUX, "203.0.113.5");
    let page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const login = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    page = await skipPasskeyOffer(browser, await browser.postForm(login, { _csrf: csrfTokenOf(page.text), email, password: PASSWORD }));
    expect(page.location).toMatch(new RegExp(`^${RP_CALLBACK}`));

    const thief = browserAt(FIREFOX_WINDOWS, "198.51.100.7", browser.jar);
    const challenged = await silently(thief);
    expect(challenged.text).toContain('type="password"');
  });
});
