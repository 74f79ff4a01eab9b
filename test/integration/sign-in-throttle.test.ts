import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, comparablePage, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Every attempt here comes from a new browser: an unknown device (see known-device.test.ts).
const THROTTLE = { windowSeconds: 900, passwordFailuresPerAccount: 3, passwordFailuresPerAccountUnknownDevices: 3, passwordFailuresPerIp: 12 };

async function attempt(server: TestServer, rp: RelyingParty, email: string, password: string) {
  const browser = new BrowserSession();
  // The relying party discovered the first instance; send the same request to `server`.
  const url = new URL((await authorizationRequest(rp)).url.toString().replace(/^https?:\/\/[^/]+/, server.issuer));
  const page = await browser.follow(url.toString(), server.issuer);
  const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
  return browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password });
}

// Issue #3 acceptance 3 / SECURITY-TESTS.md §17 (for passwords): throttled per account and per IP,
// in the database, identically for unknown and known emails.
describe("failed password sign-ins are throttled", () => {
  let server: TestServer;
  let second: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer("pglite", { throttle: THROTTLE });
    second = await startTestServer("pglite", { throttle: THROTTLE }, { shareWith: server });
    rp = await registerRelyingParty(server);
    await createUser(server, "alice@example.com");
    await createUser(server, "carol@example.com");
  });
  afterAll(async () => {
    await second?.stop();
    await server?.stop();
  });

  it("blocks an account after its failures, even the right password, with a clear message, across instances", async () => {
    for (let i = 0; i < 2; i += 1) expect((await attempt(server, rp, "alice@example.com", "wrong")).status).toBe(400);
    // The third failure happens at the other instance: the count lives in the database.
    expect((await attempt(second, rp, "alice@example.com", "wrong")).status).toBe(400);
    const blocked = await attempt(server, rp, "alice@example.com", PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain("Too many sign-in attempts. Try again in 15 minutes.");
    expect((await attempt(second, rp, "ALICE@example.com", PASSWORD)).status).toBe(429);
  });

  it("answers an unknown email the same way (§20)", async () => {
    for (let i = 0; i < 3; i += 1) await attempt(server, rp, "nobody@example.com", "wrong");
    const unknown = await attempt(server, rp, "nobody@example.com", "wrong");
    const known = await attempt(server, rp, "alice@example.com", "wrong");
    expect(unknown.status).toBe(429);
    expect(comparablePage(unknown.text)).toBe(comparablePage(known.text));
  });

  it("does not count a successful sign-in, nor lets it reset what unknown devices used", async () => {
    for (let i = 0; i < 2; i += 1) await attempt(server, rp, "carol@example.com", "wrong");
    // Signed in: the next step is the offer to create a passkey.
    const signedIn = await attempt(server, rp, "carol@example.com", PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.text).toContain("Create a passkey");
    expect((await attempt(server, rp, "carol@example.com", "wrong")).status).toBe(400);
    // The owner's success must not hand whoever else is guessing a fresh allowance.
    expect((await attempt(server, rp, "carol@example.com", "wrong")).status).toBe(429);
  });

  it("blocks an IP after failures across many accounts", async () => {
    const rows = await server.database.prisma.rateLimit.findMany();
    expect(JSON.stringify(rows)).not.toContain("example.com");
    expect(JSON.stringify(rows)).not.toContain("127.0.0.1");
    // 9 failures from this IP so far (refused attempts give their points back); three more use up
    // the per-IP allowance of 12.
    for (let i = 0; i < 3; i += 1) expect((await attempt(server, rp, `spray${i}@example.com`, "wrong")).status).toBe(400);
    const sprayed = await attempt(server, rp, "fresh@example.com", "anything");
    expect(sprayed.status).toBe(429);
  });
});
