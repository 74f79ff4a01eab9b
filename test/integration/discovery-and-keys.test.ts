import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { movableClock } from "../helpers/movable-clock.js";
import { createUser, type RelyingParty, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"];

describe.each(DATABASE_KINDS)("discovery and signing keys (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  const clock = movableClock();

  beforeAll(async () => {
    server = await startTestServer(kind, {}, { now: clock.now });
    rp = await registerRelyingParty(server);
    await createUser(server);
  });
  afterAll(() => server?.stop());

  it("publishes the provider profile", async () => {
    const response = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: server.issuer,
      authorization_endpoint: `${server.issuer}/auth`,
      token_endpoint: `${server.issuer}/token`,
      userinfo_endpoint: `${server.issuer}/me`,
      jwks_uri: `${server.issuer}/jwks`,
      end_session_endpoint: `${server.issuer}/session/end`,
      revocation_endpoint: `${server.issuer}/token/revocation`,
      introspection_endpoint: `${server.issuer}/token/introspection`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      acr_values_supported: ["urn:idp:acr:password", "urn:idp:acr:mfa", "urn:idp:acr:passkey"],
      id_token_signing_alg_values_supported: ["ES256", "RS256"],
    });
    expect(metadata.scopes_supported).toContain("openid");
    expect(metadata.grant_types_supported).toEqual(["authorization_code", "refresh_token", "client_credentials"]);
    expect(metadata.token_endpoint_auth_methods_supported).not.toContain("client_secret_jwt");
    for (const claim of ["sub", "email", "email_verified", "name", "acr", "amr", "auth_time"]) expect(metadata.claims_supported).toContain(claim);
  });

  it("publishes ES256 and RS256 public keys only, and signs ID tokens ES256 with a kid", async () => {
    const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.map((key) => key.alg).sort()).toEqual(["ES256", "RS256"]);
    for (const key of jwks.keys) {
      expect(key.kid).toBeTruthy();
      for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
    }
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const header = decodeProtectedHeader(tokens.id_token as string);
    expect(header.alg).toBe("ES256");
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);
  });

  it("stores private keys encrypted", async () => {
    const rows = await server.database.prisma.signingKey.findMany();
    for (const row of rows) {
      expect(row.privateJwkEncrypted).toMatch(/^v1\./);
      expect(row.privateJwkEncrypted).not.toContain('"d"');
    }
  });

  it("rotates without a restart: the new key is published at once and signs after the publish delay", async () => {
    const { tokens: before } = await signInAndRedeem(server, rp, new BrowserSession());
    const oldKid = decodeProtectedHeader(before.id_token as string).kid;
    const [newEs256] = (await server.services.signingKeys.rotate()).filter((key) => key.alg === "ES256");
    const publishedNow = await fetch(`${server.issuer}/jwks`);
    expect(publishedNow.headers.get("cache-control")).toBe(`public, max-age=${server.config.keys.jwksMaxAgeSeconds}`);
    const pending = (await publishedNow.json()) as { keys: { kid: string; key_ops?: string[] }[] };
    expect(pending.keys.find((key) => key.kid === newEs256?.kid)?.key_ops).toEqual(["verify"]);
    const { tokens: during } = await signInAndRedeem(server, rp, new BrowserSession());
    expect(decodeProtectedHeader(during.id_token as string).kid).toBe(oldKid);

    clock.move(server.config.keys.publishDelaySeconds);
    const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string; key_ops?: string[] }[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, newEs256?.kid]));
    expect(jwks.keys.find((key) => key.kid === oldKid)?.key_ops).toEqual(["verify"]);
    const { tokens: after } = await signInAndRedeem(server, rp, new BrowserSession());
    expect(decodeProtectedHeader(after.id_token as string).kid).toBe(newEs256?.kid);
    const keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    await expect(jwtVerify(before.id_token as string, keySet, { issuer: server.issuer })).resolves.toBeTruthy();
    await expect(jwtVerify(after.id_token as string, keySet, { issuer: server.issuer })).resolves.toBeTruthy();
  });
});
