import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { createUser, type RelyingParty, RP_CALLBACK, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const algOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split(".")[0] as string, "base64url").toString()) as { alg: string }).alg;

// Issue #14: the per-app ID token algorithm the README promised (ES256 by default, RS256 for an app registered so).
describe("a client's ID token algorithm", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    await createUser(server);
  });
  afterAll(() => server?.stop());

  /** A relying party that verifies ID tokens with `alg` (openid-client checks the signature against the JWKS). */
  async function relyingParty(clientId: string, clientSecret: string, alg: string): Promise<RelyingParty> {
    const config = await oidc.discovery(new URL(server.issuer), clientId, { id_token_signed_response_alg: alg }, oidc.ClientSecretBasic(clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
    return { clientId, clientSecret, config };
  }

  it("signs with the server's ES256 by default, RS256 for a client registered with it, and back with default", async () => {
    const plain = await registerRelyingParty(server);
    expect(algOf((await signInAndRedeem(server, plain, new BrowserSession())).tokens.id_token as string)).toBe("ES256");

    const created = await server.services.clients.create({ name: "RS256 app", redirectUris: [RP_CALLBACK], idTokenAlg: "RS256" });
    expect(created.id_token_alg).toBe("RS256");
    const rs256 = await relyingParty(created.client_id, created.client_secret as string, "RS256");
    const { tokens } = await signInAndRedeem(server, rs256, new BrowserSession());
    expect(algOf(tokens.id_token as string)).toBe("RS256");
    expect(tokens.claims()?.aud).toBe(created.client_id);

    const reset = await server.services.clients.update(created.client_id, { idTokenAlg: "default" });
    expect(reset.id_token_alg).toBeNull();
    const back = await relyingParty(created.client_id, created.client_secret as string, "ES256");
    expect(algOf((await signInAndRedeem(server, back, new BrowserSession())).tokens.id_token as string)).toBe("ES256");
  });

  it("refuses any other algorithm, naming the setting", async () => {
    for (const alg of ["HS256", "none", "es256", "RS256\u0000"]) {
      await expect(server.services.clients.create({ name: "Bad", redirectUris: [RP_CALLBACK], idTokenAlg: alg })).rejects.toMatchObject({
        code: "clients.invalid_id_token_alg",
        message: expect.stringContaining("--id-token-alg must be ES256 or RS256, or default"),
      });
    }
  });
});
