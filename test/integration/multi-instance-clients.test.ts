import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { heardAt } from "../helpers/heard.js";
import { authorizationRequest, createUser, RP_CALLBACK, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import type { TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";
import { startTwoInstances, stopInstances } from "../helpers/two-instances.js";

// What an operator changes about a client at one instance holds at the other as soon as the
// change is heard there, not when the other's client cache (10 s) runs out.
const API = "https://api.example.com";

describe.skipIf(!process.env.TEST_POSTGRES_URL)("client changes across two instances", () => {
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    [first, second] = await startTwoInstances("postgres", {}, { env: { RESOURCE_SERVERS: API } });
  });
  afterAll(() => stopInstances(first, second));

  const machine = async () => {
    const created = await first.services.clients.create({ name: "Machine", redirectUris: [], clientCredentials: true, scopes: ["email"] });
    return { clientId: created.client_id, clientSecret: created.client_secret as string };
  };
  const clientCredentialsAt = (server: TestServer, auth: { clientId: string; clientSecret: string }, scope?: string) =>
    tokenRequest(server.issuer, { grant_type: "client_credentials", ...(scope ? { scope } : {}) }, auth);

  const authorizeAt = async (server: TestServer, clientId: string, params: Record<string, string> = {}) => {
    const query = new URLSearchParams({
      client_id: clientId,
      response_type: "code",
      redirect_uri: RP_CALLBACK,
      scope: "openid email",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      ...params,
    });
    const response = await fetch(`${server.issuer}/auth?${query}`, { redirect: "manual" });
    return { status: response.status, location: response.headers.get("location"), text: await response.text() };
  };
  const webClient = async (scopes = ["openid", "email", "profile"]) =>
    (await first.services.clients.create({ name: "Web", redirectUris: [RP_CALLBACK], scopes })).client_id;

  it("an app restricted to a group at one instance refuses a signed-in outsider at the other at once", async () => {
    const rp = await registerRelyingParty(second, { firstParty: true });
    const email = "outsider@example.com";
    await createUser(first, email);
    const { browser } = await signIn(second, rp, new BrowserSession(), { scope: "openid" }, email);
    const silent = async () =>
      new URL((await browser.follow((await authorizationRequest(rp, { scope: "openid", prompt: "none" })).url.toString(), second.issuer)).location as string);
    expect((await silent()).searchParams.get("code")).toBeTruthy();

    await first.services.groups.create("insiders");
    const heard = heardAt(second);
    await first.services.clients.update(rp.clientId, { allowedGroups: ["insiders"] });
    await heard;
    expect((await silent()).searchParams.get("error")).toBe("access_denied");
  });

  it("a secret rotated at one instance stops working at the other at once", async () => {
    const auth = await machine();
    expect((await clientCredentialsAt(second, auth)).status).toBe(200);
    const heard = heardAt(second);
    const rotated = await first.services.clients.rotateSecret(auth.clientId);
    await heard;
    expect(await clientCredentialsAt(second, auth)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect((await clientCredentialsAt(second, { clientId: auth.clientId, clientSecret: rotated.client_secret as string })).status).toBe(200);
  });

  it("a client deleted at one instance is refused at the other at once", async () => {
    const auth = await machine();
    expect((await clientCredentialsAt(second, auth)).status).toBe(200);
    const heard = heardAt(second);
    await first.services.clients.delete(auth.clientId);
    await heard;
    expect(await clientCredentialsAt(second, auth)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
  });

  it("a change of access token format at one instance holds at the other at once (issue #13)", async () => {
    const auth = await machine();
    const formatAt = async (server: TestServer) => {
      const issued = await tokenRequest(server.issuer, { grant_type: "client_credentials", resource: API }, auth);
      expect(issued.status).toBe(200);
      return (issued.body.access_token as string).split(".").length === 3 ? "jwt" : "opaque";
    };
    expect(await formatAt(second)).toBe("opaque");
    let heard = heardAt(second);
    await first.services.clients.update(auth.clientId, { accessTokenFormat: "jwt" });
    await heard;
    expect(await formatAt(second)).toBe("jwt");
    heard = heardAt(first);
    await second.services.clients.update(auth.clientId, { accessTokenFormat: "opaque" });
    await heard;
    expect(await formatAt(first)).toBe("opaque");
  });

  it("a scope removed at one instance is refused at the other at once", async () => {
    const clientId = await webClient();
    expect((await authorizeAt(second, clientId)).location).toContain("/interaction/");
    const heard = heardAt(second);
    await first.services.clients.update(clientId, { scopes: ["openid", "profile"] });
    await heard;
    const refused = await authorizeAt(second, clientId);
    expect(refused.location).toContain("error=invalid_scope");
  });

  it("a redirect URI removed at one instance is refused at the other at once", async () => {
    const clientId = await webClient();
    expect((await authorizeAt(second, clientId)).location).toContain("/interaction/");
    const heard = heardAt(second);
    await first.services.clients.update(clientId, { redirectUris: ["http://localhost:8080/elsewhere"] });
    await heard;
    const refused = await authorizeAt(second, clientId);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("redirect_uri");
  });
});
