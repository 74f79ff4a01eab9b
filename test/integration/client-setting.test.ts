import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientSettingName, clientSetting } from "../../src/oidc/client-setting.js";
import { RP_CALLBACK } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// clientSetting reads oidc-provider's storage of our metadata directly: it must agree with Client#metadata().
describe("client settings as oidc-provider keeps them", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { RESOURCE_SERVERS: "https://api.example.com" } });
  });
  afterAll(() => server?.stop());

  it("reads every setting as Client#metadata() reports it, set or not", async () => {
    const set = await server.services.clients.create({
      name: "Configured",
      redirectUris: [RP_CALLBACK],
      firstParty: true,
      minimumAcr: "passkey",
      accessTokenSeconds: 120,
      refreshTokenSeconds: 3600,
      accessTokenFormat: "jwt",
    });
    const plain = await server.services.clients.create({ name: "Plain", redirectUris: [RP_CALLBACK] });
    const names: ClientSettingName[] = [
      "idp_access_token_format",
      "idp_access_token_seconds",
      "idp_first_party",
      "idp_minimum_acr",
      "idp_refresh_token_seconds",
    ];
    for (const clientId of [set.client_id, plain.client_id]) {
      const client = await server.provider.Client.find(clientId);
      const metadata = client?.metadata() as Record<string, unknown>;
      expect(Object.fromEntries(names.map((name) => [name, clientSetting(client, name)]))).toEqual(
        Object.fromEntries(names.map((name) => [name, metadata[name]])),
      );
    }
    const configured = await server.provider.Client.find(set.client_id);
    expect(clientSetting(configured, "idp_access_token_seconds")).toBe(120);
    expect(clientSetting(configured, "idp_first_party")).toBe(true);
  });
});
