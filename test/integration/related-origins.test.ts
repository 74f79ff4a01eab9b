import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #16: Related Origin Requests (WebAuthn L3 §5.11): the other domains allowed to use this RP ID's passkeys.
describe("/.well-known/webauthn", () => {
  let related: TestServer;
  let plain: TestServer;
  beforeAll(async () => {
    related = await startTestServer("pglite", {}, { issuerHost: "localhost", env: { WEBAUTHN_ORIGINS: "https://shop.example.co.uk,https://example.de" } });
    plain = await startTestServer("pglite", {}, { issuerHost: "localhost" });
  });
  afterAll(async () => {
    await related?.stop();
    await plain?.stop();
  });

  it("lists the related origins when WEBAUTHN_ORIGINS has some, and is not there otherwise", async () => {
    const listed = await fetch(`${related.issuer}/.well-known/webauthn`);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("content-type")).toContain("application/json");
    expect(await listed.json()).toEqual({ origins: ["https://shop.example.co.uk", "https://example.de"] });
    expect((await fetch(`${related.issuer}/.well-known/webauthn`, { method: "POST" })).status).toBeGreaterThanOrEqual(400);
    const none = await fetch(`${plain.issuer}/.well-known/webauthn`, { headers: { accept: "application/json" } });
    expect(none.status).toBe(404);
  });
});
