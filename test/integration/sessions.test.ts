import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, RP_CALLBACK, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #3 acceptance 6: idle and absolute session timeouts, "Keep me signed in" for one device.
describe("IdP sessions", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let bobId: string;

  beforeAll(async () => {
    // Lifetimes are passed by moving the clock, so they can be long enough for margins of many
    // seconds around their ends (oidc-provider counts whole seconds).
    server = await startTestServer("pglite", { ttl: { sessionIdleSeconds: 60, sessionAbsoluteSeconds: 300, keepSignedInSeconds: 3600 } });
    rp = await registerRelyingParty(server, { firstParty: true });
    await createUser(server);
    bobId = await createUser(server, "bob@example.com");
    // Sign-ins here should not stop at the passkey offer.
    await server.database.prisma.user.updateMany({ data: { passkeyPromptSnoozedUntil: new Date(Date.now() + 3600_000) } });
  });
  afterAll(() => server?.stop());
  afterEach(restoreClock);

  async function signIn(
    remember: boolean,
    browser = new BrowserSession(),
    email = "alice@example.com",
  ): Promise<{ browser: BrowserSession; final: PageResponse; persistent: boolean | undefined }> {
    const page = await browser.follow((await authorizationRequest(rp, { prompt: "login" })).url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    const fields: Record<string, string> = {
      _csrf: csrfTokenOf(page.text),
      email,
      password: PASSWORD,
      ...(remember ? { remember: "yes" } : {}),
    };
    const posted = await browser.postForm(action, fields);
    const final = await browser.follow(action, server.issuer, posted);
    expect(final.location?.startsWith(RP_CALLBACK)).toBe(true);
    const session = (await browser.jar.getCookies(server.issuer)).find((cookie) => cookie.key === "idp_session");
    // tough-cookie marks a browser-session cookie (no Expires) with "Infinity".
    return { browser, final, persistent: session ? session.expires !== "Infinity" : undefined };
  }

  async function silently(browser: BrowserSession): Promise<string | null> {
    const response = await browser.follow((await authorizationRequest(rp, { prompt: "none" })).url.toString(), server.issuer);
    const params = new URL(response.location as string).searchParams;
    return params.get("code") ? "signed in" : params.get("error");
  }

  it("uses a browser-session cookie unless the user asks to be kept signed in", async () => {
    expect((await signIn(false)).persistent).toBe(false);
    expect((await signIn(true)).persistent).toBe(true);
  });

  it("gives a planted, valid session a new id at sign-in; the planted id stops working (§22)", async () => {
    const attacker = await signIn(false);
    const planted = (await attacker.browser.jar.getCookies(server.issuer)).find((cookie) => cookie.key === "idp_session")?.value as string;
    // The realistic attack plants the signed pair (the id and its .sig), copied from the attacker's browser.
    const victim = new BrowserSession();
    for (const cookie of await attacker.browser.jar.getCookies(server.issuer)) {
      if (cookie.key.startsWith("idp_session")) await victim.jar.setCookie(cookie.toString(), server.issuer);
    }
    await signIn(false, victim, "bob@example.com");
    const after = (await victim.jar.getCookies(server.issuer)).find((cookie) => cookie.key === "idp_session")?.value;
    expect(after).toBeTruthy();
    expect(after).not.toBe(planted);
    // The attacker's copy of the old id does not ride the victim's session.
    const old = await server.provider.Session.find(planted);
    expect(old?.accountId).not.toBe(bobId);
  });

  it("records the device and IP a session was created from and last used from", async () => {
    const browser = new BrowserSession();
    browser.userAgent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Desktop";
    await signIn(false, browser);
    const before = await server.database.prisma.sessionDevice.findMany();
    const row = before.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
    expect(row).toMatchObject({ createdUserAgent: browser.userAgent, lastUserAgent: browser.userAgent, createdIp: expect.stringContaining("127.0.0.1") });
    browser.userAgent = "Mozilla/5.0 (Android 15) Chrome/156.0 Mobile";
    expect(await silently(browser)).toBe("signed in");
    // Session use is recorded after the answer, as a background task.
    await server.services.tasks.drain();
    const after = await server.database.prisma.sessionDevice.findUniqueOrThrow({ where: { sessionUid: row?.sessionUid } });
    expect(after.createdUserAgent).toContain("Linux");
    expect(after.lastUserAgent).toContain("Android");
    expect(after.lastSeenAt.getTime()).toBeGreaterThan(row?.lastSeenAt.getTime() as number);
  });

  it("ends an idle session; activity keeps it going", async () => {
    const { browser } = await signIn(false);
    // Each use restarts the 60 s idle timeout: uses 45 s apart keep it (90 s in all), 75 s without one end it.
    for (let i = 0; i < 2; i += 1) {
      moveClock(45);
      expect(await silently(browser)).toBe("signed in");
    }
    moveClock(75);
    expect(await silently(browser)).toBe("login_required");
  });

  it("ends an active session at its absolute lifetime", async () => {
    const { browser } = await signIn(false);
    // Used every 45 s (within the idle timeout) up to 270 s, then at 315 s: past the absolute 300 s.
    for (let i = 0; i < 6; i += 1) {
      moveClock(45);
      expect(await silently(browser)).toBe("signed in");
    }
    moveClock(45);
    expect(await silently(browser)).toBe("login_required");
  });

  it("keeps a remembered session past the idle and absolute timeouts, to its own lifetime", async () => {
    const { browser } = await signIn(true);
    // 400 s: past the idle and the absolute timeout; 3700 s: past the 3600 s it is kept for.
    moveClock(400);
    expect(await silently(browser)).toBe("signed in");
    moveClock(3300);
    expect(await silently(browser)).toBe("login_required");
  });
});
