import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession, csrfTokenOf } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, type RelyingParty, registerRelyingParty } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// SECURITY-TESTS.md §10 and §14 at the HTTP level (the successful ceremonies run in Chromium, test/e2e).
describe("passkey endpoints", () => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    rp = await registerRelyingParty(server);
    await createUser(server);
  });
  afterAll(() => server?.stop());

  async function openInteraction() {
    const browser = new BrowserSession();
    const page = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
    const base = page.url;
    const csrf = csrfTokenOf(page.text);
    const post = (path: string, body: unknown, raw?: string) =>
      browser.request(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf },
        body: raw ?? JSON.stringify(body),
      });
    return { browser, base, post };
  }

  const json = (text: string) => JSON.parse(text) as { error: string; error_description: string };
  const fakeAssertion = (id = "AAAA") => ({
    id,
    rawId: id,
    type: "public-key",
    response: {
      clientDataJSON: Buffer.from(JSON.stringify({ type: "webauthn.get", challenge: "x", origin: "http://127.0.0.1" })).toString("base64url"),
      authenticatorData: "AAAA",
      signature: "AAAA",
      userHandle: "AAAA",
    },
  });

  it("issues usernameless options that require user verification", async () => {
    const { post } = await openInteraction();
    const response = await post("/passkey/authenticate/options", {});
    expect(response.status).toBe(200);
    const options = JSON.parse(response.text) as Record<string, unknown>;
    expect(options).toMatchObject({ rpId: "127.0.0.1", userVerification: "required" });
    expect(options.allowCredentials ?? []).toEqual([]);
    // 32 random bytes (WebAuthn L3 §13.4.3 asks for at least 16).
    expect(Buffer.from(String(options.challenge), "base64url")).toHaveLength(32);
  });

  it("refuses a verification without a challenge, and uses each challenge once even when it fails (§10)", async () => {
    const { post } = await openInteraction();
    const none = await post("/passkey/authenticate/verify", fakeAssertion());
    expect(none.status).toBe(400);
    expect(json(none.text).error).toBe("passkey.challenge_expired");

    await post("/passkey/authenticate/options", {});
    const failed = await post("/passkey/authenticate/verify", fakeAssertion());
    expect(failed.status).toBe(400);
    expect(json(failed.text).error).toBe("passkey.unknown_credential");
    const replay = await post("/passkey/authenticate/verify", fakeAssertion());
    expect(json(replay.text).error).toBe("passkey.challenge_expired");
  });

  it("binds challenges to their interaction (§10)", async () => {
    const first = await openInteraction();
    const second = await openInteraction();
    await first.post("/passkey/authenticate/options", {});
    const foreign = await second.post("/passkey/authenticate/verify", fakeAssertion());
    expect(json(foreign.text).error).toBe("passkey.challenge_expired");
  });

  it.each([
    ["malformed JSON", undefined, "{not json"],
    ["a non-object body", [1, 2], undefined],
    ["a missing response", { id: "AAAA", rawId: "AAAA", type: "public-key" }, undefined],
    ["non-base64url fields", { ...fakeAssertion(), id: "not base64!", rawId: "not base64!" }, undefined],
    [
      "a webauthn.create client data in an assertion (§11)",
      { ...fakeAssertion(), response: { ...fakeAssertion().response, clientDataJSON: Buffer.from('{"type":"webauthn.create"}').toString("base64url") } },
      undefined,
    ],
    [
      "crossOrigin: true",
      {
        ...fakeAssertion(),
        response: { ...fakeAssertion().response, clientDataJSON: Buffer.from('{"type":"webauthn.get","crossOrigin":true}').toString("base64url") },
      },
      undefined,
    ],
  ])("answers %s with a clear 400, never a 500 (§14)", async (_label, body, raw) => {
    const { post } = await openInteraction();
    await post("/passkey/authenticate/options", {});
    const response = await post("/passkey/authenticate/verify", body, raw);
    expect(response.status).toBe(400);
    expect(json(response.text).error_description).toBeTruthy();
    expect(await server.database.prisma.credential.count()).toBe(0);
  });

  it("refuses an oversized body with 413 (§14)", async () => {
    const { post } = await openInteraction();
    const response = await post("/passkey/authenticate/verify", { padding: "x".repeat(200_000) });
    expect(response.status).toBe(413);
  });

  it("refuses to create a passkey without a verified sign-in in this interaction", async () => {
    const { post } = await openInteraction();
    const options = await post("/passkey/register/options", {});
    expect(options.status).toBe(403);
    expect(json(options.text).error).toBe("interaction.wrong_step");
  });

  it("refuses the JSON endpoints without the CSRF header (§21)", async () => {
    const { browser, base } = await openInteraction();
    const response = await browser.request(`${base}/passkey/authenticate/options`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(403);
  });
});
