import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsClientAuthorizationPath } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #11 item 10: an https ISSUER, no TRUST_PROXY, requests over this plain-HTTP server.
describe.each(DATABASE_KINDS)("an https issuer without TRUST_PROXY, over plain HTTP (%s)", (kind) => {
  let server: TestServer;
  let authorizationPath: string;

  beforeAll(async () => {
    server = await startTestServer(kind, {}, { env: { ISSUER: "https://idp.example.test" } });
    authorizationPath = await httpsClientAuthorizationPath(server);
  });
  afterAll(() => server?.stop());

  it("answers pages with 421 and a page naming TRUST_PROXY, never a 500", async () => {
    for (const path of [authorizationPath, "/account", "/signup"]) {
      const response = await fetch(`${server.url}${path}`, { headers: { accept: "text/html" }, redirect: "manual" });
      expect({ path, status: response.status }).toEqual({ path, status: 421 });
      const page = await response.text();
      expect(page).toContain("TRUST_PROXY");
      expect(page).toContain("plain HTTP");
    }
  });

  it("answers JSON clients with the error code", async () => {
    const response = await fetch(`${server.url}/account`, { headers: { accept: "application/json" } });
    expect(response.status).toBe(421);
    expect(await response.json()).toMatchObject({ error: "http.tls_required", error_description: expect.stringContaining("TRUST_PROXY") });
  });

  it("still answers health checks (a load balancer probes over plain HTTP)", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});

// Red-team finding: with TRUST_PROXY set, a proxy that sends no `X-Forwarded-Proto: https` made every page a 500.
describe("an https issuer behind a proxy that does not say https", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { ISSUER: "https://idp.example.test", TRUST_PROXY: "1" } });
  });
  afterAll(() => server?.stop());

  const viaProxy = (proto?: string) =>
    fetch(`${server.url}/account`, {
      headers: { accept: "text/html", "x-forwarded-host": "idp.example.test", ...(proto ? { "x-forwarded-proto": proto } : {}) },
      redirect: "manual",
    });

  it("answers 421 naming X-Forwarded-Proto, never a 500", async () => {
    for (const proto of [undefined, "http", "http, https"]) {
      const response = await viaProxy(proto);
      expect({ proto, status: response.status }).toEqual({ proto, status: 421 });
      expect(await response.text()).toContain("X-Forwarded-Proto: https");
    }
    expect((await viaProxy("https")).status).toBe(303);
  });
});
