import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, type RelyingParty, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const THROTTLE = { passwordFailuresPerIp: 3, passwordFailuresPerAccount: 50, passwordFailuresPerAccountUnknownDevices: 50 };

/** The addresses the server recorded for a user's sign-in: its security events and its sessions list. */
async function recordedAddresses(server: TestServer, userId: string) {
  // Session use is recorded after the answer.
  await server.services.tasks.drain();
  const events = await server.services.events.listForUser(userId);
  const devices = await server.services.sessionDevices.listSessionDevicesOfUser(userId);
  return {
    events: [...new Set(events.map((event) => event.ip))],
    devices: [...new Set(devices.flatMap((device) => [device.createdIp, device.lastIp]))],
  };
}

async function signedInFrom(server: TestServer, rp: RelyingParty, email: string, forwardedFor: string) {
  const userId = await createUser(server, email);
  const browser = new BrowserSession();
  browser.forwardedFor = forwardedFor;
  await signIn(server, rp, browser, {}, email);
  return userId;
}

// SECURITY-TESTS.md §32 (issue #11 item 4): with TRUST_PROXY, the client address is read from the
// right end of X-Forwarded-For; what the client wrote to its left changes nothing.
describe.each(DATABASE_KINDS)("X-Forwarded-For behind one proxy, TRUST_PROXY=1 (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer(kind, { throttle: THROTTLE }, { env: { TRUST_PROXY: "1" } });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  /** A wrong password sent through "the proxy": `forwardedFor` is what reaches the server. */
  async function wrongPassword(forwardedFor: string, email: string) {
    const browser = new BrowserSession();
    browser.forwardedFor = forwardedFor;
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const action = new URL(formActionOf(page.text, "/login"), server.issuer).toString();
    return (await browser.postForm(action, { _csrf: csrfTokenOf(page.text), email, password: "wrong password" })).status;
  }

  it("a forged leftmost X-Forwarded-For entry does not get past the per-IP password throttle (§32)", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push(await wrongPassword(`6.6.6.${i}, 203.0.113.10`, `nobody-${i}@example.com`));
    expect(statuses).toEqual([400, 400, 400, 429, 429, 429]);
    // The proxy's own entry is what counts: another real address still has its allowance.
    expect(await wrongPassword("6.6.6.6, 203.0.113.11", "nobody-else@example.com")).toBe(400);
  });

  it("records the proxy-reported address in security events and the sessions list, not the forged one (§32)", async () => {
    const userId = await signedInFrom(server, rp, `forged-${kind}@example.com`, "6.6.6.6, 203.0.113.20");
    expect(await recordedAddresses(server, userId)).toEqual({ events: ["203.0.113.20"], devices: ["203.0.113.20"] });
  });
  it("takes the socket's peer when what the proxy forwards is not an IP address", async () => {
    for (const forwarded of ["<script>", "1.2.3.4:8080", "x".repeat(8000)]) {
      const userId = await signedInFrom(server, rp, `junk-${kind}-${forwarded.length}@example.com`, forwarded);
      expect(await recordedAddresses(server, userId)).toEqual({ events: ["127.0.0.1"], devices: ["127.0.0.1"] });
    }
  });
});

describe("X-Forwarded-For with a list of trusted proxies (§32)", () => {
  let server: TestServer;
  let rp: RelyingParty;

  afterAll(() => server?.stop());

  it("takes the rightmost address that is not a listed proxy; a peer not listed is the client itself", async () => {
    // The test client connects from 127.0.0.1: listed, it is a proxy; not listed, it is the client.
    server = await startTestServer("pglite", {}, { env: { TRUST_PROXY: "10.0.0.0/8, 127.0.0.1" } });
    rp = await registerRelyingParty(server, { firstParty: true });
    const throughProxies = await signedInFrom(server, rp, "listed@example.com", "6.6.6.6, 203.0.113.30, 10.1.2.3");
    expect(await recordedAddresses(server, throughProxies)).toEqual({ events: ["203.0.113.30"], devices: ["203.0.113.30"] });
    await server.stop();

    server = await startTestServer("pglite", {}, { env: { TRUST_PROXY: "10.0.0.0/8" } });
    rp = await registerRelyingParty(server, { firstParty: true });
    const direct = await signedInFrom(server, rp, "direct@example.com", "6.6.6.6, 203.0.113.31");
    expect(await recordedAddresses(server, direct)).toEqual({ events: ["127.0.0.1"], devices: ["127.0.0.1"] });
  });
});
