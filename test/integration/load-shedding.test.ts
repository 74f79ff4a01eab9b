import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, PASSWORD, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const TOKEN = "metrics-token-for-tests-0123456789abcdef";
const GRANT = "grant_type=client_credentials";

// Issue #11 item 8: beyond load.maxInFlight requests, 503 + Retry-After at once, before any route runs.
describe.each(DATABASE_KINDS)("load shedding (%s)", (kind) => {
  let server: TestServer;
  let machine: RelyingParty;
  let basic: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { load: { maxInFlight: 2, maxQueued: 0 } }, { env: { METRICS_TOKEN: TOKEN } });
    machine = await registerRelyingParty(server, { redirectUris: [], clientCredentials: true });
    basic = `Basic ${Buffer.from(`${machine.clientId}:${machine.clientSecret}`).toString("base64")}`;
  });
  afterAll(() => server?.stop());

  const scrape = async () => (await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const series = (text: string, name: string) =>
    Number(
      text
        .split("\n")
        .find((line) => line.startsWith(`${name} `))
        ?.split(" ")[1] ?? 0,
    );
  const ISSUED = 'idp_token_grants_total{grant_type="client_credentials"}';
  const SHED_FULL = 'idp_requests_shed_total{reason="full"}';

  const tokenRequest = () =>
    fetch(`${server.issuer}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic }, body: GRANT });

  /** A token request whose body is only half sent: it holds its slot until `finish()`. */
  function heldTokenRequest() {
    const url = new URL("/token", server.issuer);
    const outgoing = request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": GRANT.length, authorization: basic },
    });
    const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      outgoing.once("error", reject);
      outgoing.once("response", (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => {
          text += chunk;
        });
        response.once("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      });
    });
    outgoing.write(GRANT.slice(0, 5));
    return {
      finish() {
        outgoing.end(GRANT.slice(5));
        return answer;
      },
    };
  }

  async function untilInFlight(count: number) {
    await expect.poll(async () => series(await scrape(), "idp_requests_in_flight"), { timeout: 30_000 }).toBe(count);
  }

  const expectShedOAuth = async (response: Response) => {
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe(String(server.config.load.retryAfterSeconds));
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: "temporarily_unavailable", error_description: expect.any(String) });
  };

  it("while every slot is taken refuses at once with 503, Retry-After and the OAuth error; health, readiness and metrics still answer", async () => {
    const before = await scrape();
    const held = [heldTokenRequest(), heldTokenRequest()];
    await untilInFlight(2);

    const refused = await Promise.all(Array.from({ length: 10 }, tokenRequest));
    for (const response of refused) await expectShedOAuth(response);
    // An OAuth endpoint answers JSON even to a browser; the app's pages answer a page.
    await expectShedOAuth(await fetch(`${server.issuer}/.well-known/openid-configuration`, { headers: { accept: "text/html" } }));
    const page = await fetch(`${server.issuer}/account`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(503);
    expect(page.headers.get("retry-after")).toBe(String(server.config.load.retryAfterSeconds));
    expect(await page.text()).toContain("Busy right now");
    expect((await fetch(`${server.issuer}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);

    const answers = await Promise.all(held.map((h) => h.finish()));
    for (const answer of answers) expect(answer).toMatchObject({ status: 200, body: { token_type: "Bearer", access_token: expect.any(String) } });
    await untilInFlight(0);
    expect((await tokenRequest()).status).toBe(200);

    const after = await scrape();
    expect(series(after, SHED_FULL) - series(before, SHED_FULL)).toBe(12);
    // Refused before the route ran: only the three served requests issued a token.
    expect(series(after, ISSUED) - series(before, ISSUED)).toBe(3);
  });

  it("under a burst every request is either served or refused, and only the served ones issue tokens", async () => {
    const before = await scrape();
    const sent = 40;
    const [responses, health] = await Promise.all([Promise.all(Array.from({ length: sent }, tokenRequest)), fetch(`${server.issuer}/healthz`)]);
    expect(health.status).toBe(200);

    const served = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status === 503);
    expect(served.length + refused.length).toBe(sent);
    for (const response of refused) await expectShedOAuth(response);
    for (const response of served) expect(await response.json()).toMatchObject({ access_token: expect.any(String) });

    const after = await scrape();
    expect(series(after, ISSUED) - series(before, ISSUED)).toBe(served.length);
    expect(series(after, SHED_FULL) - series(before, SHED_FULL)).toBe(refused.length);
  });

  it("a burst of password sign-ins (argon2) is served or refused with the busy page; a refused one checks no password", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    await createUser(server, "burst@example.com");
    const forms = [];
    for (let i = 0; i < 12; i += 1) {
      const browser = new BrowserSession();
      const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
      forms.push({ browser, action: new URL(formActionOf(page.text, "/login"), server.issuer).toString(), csrf: csrfTokenOf(page.text) });
    }
    const before = await scrape();
    const [responses, health] = await Promise.all([
      Promise.all(forms.map((form) => form.browser.postForm(form.action, { _csrf: form.csrf, email: "burst@example.com", password: PASSWORD }))),
      fetch(`${server.issuer}/healthz`),
    ]);
    expect(health.status).toBe(200);

    // Served: the sign-in's next step (a page, or a redirect).
    const served = responses.filter((response) => response.status === 200 || response.status === 303);
    const refused = responses.filter((response) => response.status === 503);
    expect(served.length + refused.length).toBe(forms.length);
    expect(served.length).toBeGreaterThanOrEqual(2);
    for (const response of refused) {
      expect(response.headers.get("retry-after")).toBe(String(server.config.load.retryAfterSeconds));
      expect(response.text).toContain("Busy right now");
    }
    const after = await scrape();
    const CHECKS = "idp_password_checks_total";
    expect(series(after, CHECKS) - series(before, CHECKS)).toBe(served.length);
  });
});
