import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { authorizationRequest, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface RawResponse {
  status: number;
  location: string | undefined;
  body: string;
}

/** A request with exactly these headers (Host included) and request target, as fetch cannot send. */
function rawGet(server: TestServer, target: string, headers: Record<string, string>): Promise<RawResponse> {
  const { hostname, port } = new URL(server.issuer);
  return new Promise((resolve, reject) => {
    const sent = request({ host: hostname, port, path: target, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, location: response.headers.location, body: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    sent.on("error", reject);
    sent.end();
  });
}

const DISCOVERY = "/.well-known/openid-configuration";

/** Every URL-looking string in a discovery document. */
const urlsIn = (document: Record<string, unknown>) =>
  Object.values(document).filter((value): value is string => typeof value === "string" && /^[a-z]+:\/\//.test(value));

// SECURITY-TESTS.md §33 (issue #11 item 5): the issuer is the only origin. Another Host (or
// X-Forwarded-Host) gets 421 Misdirected Request, never discovery or redirects on that host.
describe.each(DATABASE_KINDS)("the issuer is the only origin (%s)", (kind) => {
  let direct: TestServer;
  let proxied: TestServer;
  let rp: RelyingParty;
  let pagePath: string;

  beforeAll(async () => {
    direct = await startTestServer(kind);
    proxied = await startTestServer(kind, {}, { env: { TRUST_PROXY: "1" }, shareWith: direct });
    rp = await registerRelyingParty(direct);
    const started = await new BrowserSession().get((await authorizationRequest(rp)).url.toString());
    pagePath = new URL(started.location as string).pathname;
  });
  afterAll(async () => {
    await proxied?.stop();
    await direct?.stop();
  });

  const hostOf = (server: TestServer) => new URL(server.issuer).host;
  const authPath = async () => {
    const url = (await authorizationRequest(rp)).url;
    return `${url.pathname}${url.search}`;
  };

  async function expectMisdirected(server: TestServer, headers: Record<string, string>) {
    for (const target of [DISCOVERY, "/jwks", await authPath(), pagePath]) {
      const answer = await rawGet(server, target, headers);
      expect(answer.status, target).toBe(421);
      expect(answer.location, target).toBeUndefined();
      expect(answer.body, target).not.toContain("evil.example");
    }
  }

  it("answers discovery, jwks, an authorization request and a page for Host: evil.example with 421 (§33)", async () => {
    await expectMisdirected(direct, { host: "evil.example" });
  });

  it("answers 421 for X-Forwarded-Host: evil.example under TRUST_PROXY (§33)", async () => {
    await expectMisdirected(proxied, { host: hostOf(proxied), "x-forwarded-host": "evil.example" });
  });

  it("answers 421 for a Host that carries more than the issuer's host (a path, userinfo, a list) (§33)", async () => {
    const issuerHost = hostOf(direct);
    for (const host of [`${issuerHost}/evil`, `evil@${issuerHost}`, `${issuerHost}, evil.example`]) {
      expect({ host, status: (await rawGet(direct, DISCOVERY, { host })).status }).toEqual({ host, status: 421 });
    }
  });

  it("answers 421 for a request target in absolute form naming another host (§33)", async () => {
    const answer = await rawGet(direct, `http://evil.example${DISCOVERY}`, { host: hostOf(direct) });
    expect(answer.status).toBe(421);
    expect(answer.body).not.toContain("evil.example");
  });

  it("keeps the health checks answering whatever the host, for probes by IP (§33)", async () => {
    for (const path of ["/healthz", "/readyz"]) expect((await rawGet(direct, path, { host: "10.0.0.7:3000" })).status).toBe(200);
  });

  it("builds discovery and redirects from ISSUER even when X-Forwarded-Proto says otherwise (§33)", async () => {
    const headers = { host: hostOf(proxied), "x-forwarded-proto": "https" };
    const discovery = await rawGet(proxied, DISCOVERY, headers);
    expect(discovery.status).toBe(200);
    const urls = urlsIn(JSON.parse(discovery.body));
    expect(urls.length).toBeGreaterThan(5);
    for (const url of urls) expect(url.startsWith(`${proxied.issuer}/`) || url === proxied.issuer, url).toBe(true);

    const redirect = await rawGet(proxied, await authPath(), headers);
    expect(redirect.status).toBe(303);
    expect(new URL(redirect.location as string, proxied.issuer).origin).toBe(proxied.issuer);
  });
});
