import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { createUser, RP_CALLBACK, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #15 item 6: plain language, a next step, the OAuth error for developers in a collapsed details line.
describe("error and end pages", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite");
  });
  afterAll(() => server?.stop());

  const page = async (path: string, accept = "text/html") => {
    const response = await fetch(`${server.issuer}${path}`, { headers: { accept }, redirect: "manual" });
    return { status: response.status, type: response.headers.get("content-type") ?? "", text: await response.text() };
  };
  const authorize = (params: Record<string, string>) =>
    page(
      `/auth?${new URLSearchParams({ response_type: "code", scope: "openid", code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256", ...params })}`,
    );

  it("an unknown app and an unregistered redirect URI say what happened and what to do, with the details collapsed", async () => {
    const unknown = await authorize({ client_id: "nope", redirect_uri: RP_CALLBACK });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('<h1 id="page-title">This app is not known here</h1>');
    expect(unknown.text).toContain("tell the app&#39;s owner");
    expect(unknown.text).toMatch(/<details class="muted">\s*<summary>Details for the app&#39;s developers<\/summary>\s*<p><code>invalid_client<\/code>/);

    const rp = await registerRelyingParty(server);
    const mismatch = await authorize({ client_id: rp.clientId, redirect_uri: `${RP_CALLBACK}/extra` });
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toContain("This sign-in link is not set up right");
    expect(mismatch.text).toContain("<code>invalid_redirect_uri</code>");
  });

  it("a missing page is a styled page (JSON for an API caller)", async () => {
    const missing = await page("/no/such/page");
    expect(missing.status).toBe(404);
    expect(missing.type).toContain("text/html");
    expect(missing.text).toContain('<link rel="stylesheet" href="/static/style.css">');
    expect(missing.text).toContain("Page not found");
    const json = await page("/no/such/page", "application/json");
    expect(json).toMatchObject({ status: 404, type: expect.stringContaining("application/json") });
    expect(JSON.parse(json.text)).toEqual({ error: "not_found", error_description: "There is nothing at this address." });
  });

  it("the recovery done page offers a way on and names the way in actually set up; sign-out says where", async () => {
    const done = await page("/recover/done");
    expect(done.text).toContain("recovered with your new passkey");
    expect(done.text).not.toContain("(or password)");
    expect(done.text).toContain('<a class="button" href="/account">Continue to sign in</a>');

    await createUser(server, "leaving@example.com");
    const rp = await registerRelyingParty(server);
    const { browser } = await signIn(server, rp, new BrowserSession(), {}, "leaving@example.com");
    const confirm = await browser.get(`${server.issuer}/session/end`);
    expect(confirm.text).toContain("Sign out of <strong>");
    expect(confirm.text).not.toContain("identity provider");
  });
});
