import { CookieJar } from "tough-cookie";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const THROTTLE = { passwordFailuresPerAccount: 3, passwordFailuresPerAccountUnknownDevices: 5, passwordFailuresPerIp: 1000 };
const DEVICE_COOKIE = "idp_device";

// SECURITY-TESTS.md §29 (issue #10): an attacker's failures use up the ceiling for unknown
// devices, never the allowance of a browser the owner already signed in from; passkey sign-in and
// recovery stay reachable for everyone.
describe.each(DATABASE_KINDS)("known devices keep their own password allowance (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;
  let network = 0;

  beforeAll(async () => {
    server = await startTestServer(kind, { throttle: THROTTLE }, { env: { TRUST_PROXY: "true" } });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  async function newUser() {
    const email = `device-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  }

  /** A new browser on an address of its own (the attacker's botnet, or the owner at home). */
  function browserAt(jar = new CookieJar()) {
    const browser = new BrowserSession(jar);
    browser.forwardedFor = `203.0.113.${++network}`;
    return browser;
  }

  /** Signs in fully (the device cookie is set when the sign-in finishes); returns the browser with only that cookie, as after the session ended. */
  async function knownBrowser(email: string) {
    const browser = browserAt();
    await signIn(server, rp, browser, {}, email);
    const jar = new CookieJar();
    for (const cookie of await browser.jar.getCookies(server.issuer)) {
      if (cookie.key.startsWith(DEVICE_COOKIE)) await jar.setCookie(cookie, server.issuer);
    }
    expect((await jar.getCookies(server.issuer)).map((cookie) => cookie.key).sort()).toEqual([DEVICE_COOKIE, `${DEVICE_COOKIE}.sig`]);
    return browserAt(jar);
  }

  async function passwordAttempt(browser: BrowserSession, email: string, password: string) {
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    const answer = await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password });
    return { ...answer, final: await browser.follow(action, server.issuer, answer) };
  }

  /** The attacker, from a new browser and address each time, until the ceiling for unknown devices is used up. */
  async function exhaustUnknownDevices(email: string) {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await passwordAttempt(browserAt(), email, "guess")).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    expect((await passwordAttempt(browserAt(), email, PASSWORD)).status).toBe(429);
  }

  it("sets an HttpOnly, SameSite=Lax device cookie only when a sign-in finishes", async () => {
    const { email } = await newUser();
    const browser = browserAt();
    const failed = await passwordAttempt(browser, email, "guess");
    expect(failed.headers.getSetCookie().some((cookie) => cookie.startsWith(DEVICE_COOKIE))).toBe(false);
    await signIn(server, rp, browser, {}, email);
    const cookie = (await browser.jar.getCookies(server.issuer)).find((c) => c.key === DEVICE_COOKIE);
    if (!cookie) throw new Error("no device cookie after the sign-in");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", secure: false });
    expect(cookie.value).not.toContain("example.com");
    // Long-lived: it outlives every session (koa's cookies send Expires for maxAge).
    expect((cookie.expires as Date).getTime() - Date.now()).toBeGreaterThan(180 * 24 * 3600 * 1000);
  });

  it("an attacker's failures do not lock the owner out of a browser the owner already signs in from (§29)", async () => {
    const { email } = await newUser();
    const owner = await knownBrowser(email);
    await exhaustUnknownDevices(email);
    // A mistyped password from the owner's browser still counts only against that browser.
    expect((await passwordAttempt(owner, email, "typo")).status).toBe(400);
    const signedIn = await passwordAttempt(owner, email, PASSWORD);
    expect(signedIn.final.location).toMatch(new RegExp(`^${RP_CALLBACK}.*code=`));
  });

  it("limits a known device per account: its own failures stop it, not the owner's other browsers", async () => {
    const { email } = await newUser();
    const laptop = await knownBrowser(email);
    const phone = await knownBrowser(email);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await passwordAttempt(laptop, email, "guess")).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    expect((await passwordAttempt(laptop, email, PASSWORD)).status).toBe(429);
    expect((await passwordAttempt(phone, email, PASSWORD)).final.location).toMatch(new RegExp(`^${RP_CALLBACK}`));
    // A known device's failures are its own: unknown devices still have their whole ceiling.
    const fresh: number[] = [];
    for (let i = 0; i < 5; i += 1) fresh.push((await passwordAttempt(browserAt(), email, "guess")).status);
    expect(fresh).toEqual([400, 400, 400, 400, 400]);
  });

  it("counts a forged or unsigned device cookie, or one for another account, as unknown (§29)", async () => {
    const victim = await newUser();
    const attacker = await newUser();
    const owner = await knownBrowser(victim.email);
    const own = await knownBrowser(attacker.email);
    await exhaustUnknownDevices(victim.email);

    // The attacker's genuine cookie names only the attacker's account.
    expect((await passwordAttempt(own, victim.email, PASSWORD)).status).toBe(429);

    const [value, signature] = await Promise.all(
      [DEVICE_COOKIE, `${DEVICE_COOKIE}.sig`].map(async (key) => (await owner.jar.getCookies(server.issuer)).find((c) => c.key === key)?.value as string),
    );
    const ownValue = (await own.jar.getCookies(server.issuer)).find((c) => c.key === DEVICE_COOKIE)?.value as string;
    const [nonce] = ownValue.split(".");
    const [, victimTag] = (value as string).split(".");
    const forgeries: Record<string, string>[] = [
      { [DEVICE_COOKIE]: value as string },
      { [DEVICE_COOKIE]: `${value}x`, [`${DEVICE_COOKIE}.sig`]: signature as string },
      { [DEVICE_COOKIE]: `${nonce}.${victimTag}`, [`${DEVICE_COOKIE}.sig`]: signature as string },
    ];
    for (const cookies of forgeries) {
      const jar = new CookieJar();
      for (const [key, cookieValue] of Object.entries(cookies)) await jar.setCookie(`${key}=${cookieValue}; Path=/`, server.issuer);
      expect((await passwordAttempt(browserAt(jar), victim.email, PASSWORD)).status).toBe(429);
    }
    // The real one still works.
    expect((await passwordAttempt(owner, victim.email, PASSWORD)).final.location).toMatch(new RegExp(`^${RP_CALLBACK}`));
  });

  it("still offers a locked-out unknown device the passkey button and the recovery link (§29)", async () => {
    const { email } = await newUser();
    await exhaustUnknownDevices(email);
    const browser = browserAt();
    const locked = await passwordAttempt(browser, email, PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.text).toContain("Too many sign-in attempts. Try again in 15 minutes.");
    expect(locked.text).toContain("Sign in with a passkey");
    const recoverPath = locked.text.match(/href="(\/interaction\/[^"]+\/recover)"/)?.[1];
    expect(locked.text).toContain("Lost your passkey?");
    expect((await browser.get(`${server.issuer}${recoverPath}`)).status).toBe(200);
    const base = locked.text.match(/data-base="([^"]+)"/)?.[1];
    const csrf = locked.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const options = await browser.postJson(`${server.issuer}${base}/passkey/authenticate/options`, csrf, {});
    expect(options.status).toBe(200);
    expect(JSON.parse(options.text)).toHaveProperty("challenge");
  });

  it("keeps the account's failures from every device as the risk signal", async () => {
    const { email } = await newUser();
    const owner = await knownBrowser(email);
    await passwordAttempt(owner, email, "typo");
    for (let i = 0; i < 2; i += 1) await passwordAttempt(browserAt(), email, "guess");
    expect(await server.services.signInThrottle.failuresOf(email)).toBe(3);
    expect(await server.services.signInThrottle.failuresOf(email.toUpperCase())).toBe(3);
  });

  it("keeps the owner's recovery mails: sign-up requests for the address and strangers' recoveries do not use them up (§29)", async () => {
    const { email } = await newUser();
    const owner = await knownBrowser(email);
    const formAt = async (browser: BrowserSession, path: "/signup" | "/recover") => {
      const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
      const uid = page.url.match(/\/interaction\/([^/?]+)/)?.[1] as string;
      const form = await browser.get(`${server.issuer}/interaction/${uid}${path}`);
      return browser.postForm(`${server.issuer}/interaction/${uid}${path}`, { _csrf: csrfTokenOf(form.text), email });
    };
    const allowance = server.config.signUp.mailsPerEmailPerHour;
    const strangers = [];
    for (let i = 0; i <= allowance; i += 1) strangers.push((await formAt(browserAt(), "/signup")).status);
    expect(strangers.at(-1)).toBe(429);
    const recoveries = [];
    for (let i = 0; i <= allowance; i += 1) recoveries.push((await formAt(browserAt(), "/recover")).status);
    expect(recoveries.slice(0, allowance).every((status) => status === 200)).toBe(true);
    expect(recoveries.at(-1)).toBe(429);
    // The owner's browser still gets its recovery link.
    expect((await formAt(owner, "/recover")).status).toBe(200);
  });
});
