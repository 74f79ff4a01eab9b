import * as oidc from "openid-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { createUser, type RelyingParty, RP_CALLBACK, registerRelyingParty, signIn, signInAndRedeem } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

describe.each(DATABASE_KINDS)("token endpoint: codes and PKCE (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let other: RelyingParty;
  let userId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    rp = await registerRelyingParty(server);
    other = await registerRelyingParty(server);
    userId = await createUser(server);
  });
  afterAll(() => server?.stop());

  const redeem = (code: string, verifier: string | undefined, client: RelyingParty = rp, redirectUri = RP_CALLBACK) =>
    tokenRequest(
      server.issuer,
      { grant_type: "authorization_code", code, redirect_uri: redirectUri, ...(verifier ? { code_verifier: verifier } : {}) },
      { clientId: client.clientId, clientSecret: client.clientSecret },
    );

  it("refuses a second redemption and revokes the tokens of the first (§6)", async () => {
    const { callbackUrl, start } = await signIn(server, rp);
    const code = callbackUrl.searchParams.get("code") as string;
    const first = await redeem(code, start.codeVerifier);
    expect(first.status).toBe(200);
    await expect(oidc.fetchUserInfo(rp.config, first.body.access_token as string, userId)).resolves.toMatchObject({ sub: userId });

    const second = await redeem(code, start.codeVerifier);
    expect(second).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    await expect(oidc.fetchUserInfo(rp.config, first.body.access_token as string, userId)).rejects.toMatchObject({ status: 401 });
    await expect(oidc.refreshTokenGrant(rp.config, first.body.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("lets exactly one of many parallel redemptions succeed (atomic consume)", async () => {
    const { callbackUrl, start } = await signIn(server, rp);
    const code = callbackUrl.searchParams.get("code") as string;
    const results = await Promise.all(Array.from({ length: 8 }, () => redeem(code, start.codeVerifier)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === "invalid_grant")).toHaveLength(7);
  });

  const refresh = (refreshToken: string) => tokenRequest(server.issuer, { grant_type: "refresh_token", refresh_token: refreshToken }, rp);

  it("lets exactly one of 50 parallel rotations of a refresh token succeed, and the others revoke the grant (§7, RFC 9700 §4.14.2)", async () => {
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const results = await Promise.all(Array.from({ length: 50 }, () => refresh(tokens.refresh_token as string)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === "invalid_grant")).toHaveLength(49);
    // Every loser answered after the winner's tokens were stored, so none of them survives.
    const won = winners[0]?.body as { access_token: string; refresh_token: string };
    await expect(oidc.fetchUserInfo(rp.config, won.access_token, userId)).rejects.toMatchObject({ status: 401 });
    await expect(refresh(won.refresh_token)).resolves.toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    await expect(oidc.fetchUserInfo(rp.config, tokens.access_token, userId)).rejects.toMatchObject({ status: 401 });
  });

  it("rotates a refresh token in one statement (consume, new refresh token, access token)", async () => {
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const statements: string[] = [];
    const { hot } = server.database;
    const query = hot.query;
    const counted = (name: string, text: string, values: unknown[]) => {
      statements.push(name);
      return query(name, text, values);
    };
    Object.assign(hot, { query: counted });
    try {
      const rotated = await refresh(tokens.refresh_token as string);
      expect(rotated.status).toBe(200);
      await expect(refresh(rotated.body.refresh_token as string)).resolves.toMatchObject({ status: 200 });
    } finally {
      Object.assign(hot, { query });
    }
    // One write each. The old token and its grant come from the payload cache (written through at
    // issue, and by the rotation) unless an invalidation arrived during the fill (on PostgreSQL, a
    // NOTIFY echo of an earlier test): then the fill is dropped and the token read again.
    expect(statements.filter((name) => name !== "oidc_payload_find")).toEqual(["oidc_payload_rotate", "oidc_payload_rotate"]);
    expect(statements.length, statements.join()).toBeLessThanOrEqual(4);
  });

  it("refuses a code redeemed by another client", async () => {
    const { callbackUrl, start } = await signIn(server, rp);
    const result = await redeem(callbackUrl.searchParams.get("code") as string, start.codeVerifier, other);
    expect(result).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("refuses a token request with a different redirect_uri (§3)", async () => {
    const { callbackUrl, start } = await signIn(server, rp);
    const result = await redeem(callbackUrl.searchParams.get("code") as string, start.codeVerifier, rp, "http://localhost:8080/other");
    expect(result).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  // RFC 7636 §4.6: a verifier that does not match (none at all included) is invalid_grant; one that
  // is not a verifier (§4.1: 43–128 unreserved characters) is a malformed request (RFC 6749 §5.2).
  it.each([
    ["a missing verifier", undefined, "invalid_grant"],
    ["a wrong verifier", "x".repeat(43), "invalid_grant"],
    ["a verifier too short to be valid", "abc", "invalid_request"],
  ])("refuses %s", async (_label, verifier, error) => {
    const { callbackUrl } = await signIn(server, rp);
    const result = await redeem(callbackUrl.searchParams.get("code") as string, verifier);
    expect(result).toMatchObject({ status: 400, body: { error } });
  });

  it("refuses an unknown code and a code without client authentication", async () => {
    expect(await redeem("not-a-code", "x".repeat(43))).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    const { callbackUrl, start } = await signIn(server, rp);
    const anonymous = await tokenRequest(server.issuer, {
      grant_type: "authorization_code",
      code: callbackUrl.searchParams.get("code") as string,
      redirect_uri: RP_CALLBACK,
      code_verifier: start.codeVerifier,
      client_id: rp.clientId,
    });
    expect(anonymous).toMatchObject({ status: 401, body: { error: "invalid_client" } });
  });

  it("refuses the password and implicit grants", async () => {
    const result = await tokenRequest(server.issuer, { grant_type: "password", username: "alice@example.com", password: "x" }, rp);
    expect(result).toMatchObject({ status: 400, body: { error: "unsupported_grant_type" } });
  });

  it("refuses a refresh token of another client, and one presented without authentication (§8)", async () => {
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const refreshToken = tokens.refresh_token as string;
    const stolen = await tokenRequest(server.issuer, { grant_type: "refresh_token", refresh_token: refreshToken }, other);
    expect(stolen).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    const anonymous = await tokenRequest(server.issuer, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: rp.clientId });
    expect(anonymous).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    // The rightful client can still use it: the refusals did not consume it.
    await expect(oidc.refreshTokenGrant(rp.config, refreshToken)).resolves.toHaveProperty("access_token");
  });

  it("refuses a refresh asking for more scope than was granted", async () => {
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const wider = await tokenRequest(
      server.issuer,
      { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string, scope: "openid email profile offline_access address" },
      rp,
    );
    expect(wider).toMatchObject({ status: 400, body: { error: "invalid_scope" } });
  });

  it("issues client_credentials tokens only to confidential clients that registered the grant", async () => {
    const machine = await registerRelyingParty(server, { redirectUris: [], clientCredentials: true });
    const issued = await tokenRequest(server.issuer, { grant_type: "client_credentials" }, machine);
    expect(issued.status).toBe(200);
    expect(issued.body.token_type).toBe("Bearer");
    const refused = await tokenRequest(server.issuer, { grant_type: "client_credentials" }, rp);
    // oidc-provider answers invalid_request here (RFC 6749 would also allow unauthorized_client).
    expect(refused).toMatchObject({
      status: 400,
      body: { error: "invalid_request", error_description: "requested grant type is not allowed for this client" },
    });
  });
});

describe("token endpoint: lifetimes", () => {
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    // Passed by moving the clock, so every check is many seconds away from an end (times are whole seconds).
    server = await startTestServer("pglite", {
      ttl: { authorizationCodeSeconds: 300, refreshTokenIdleSeconds: 200, refreshTokenAbsoluteSeconds: 300 },
    });
    rp = await registerRelyingParty(server);
    await createUser(server);
  });
  afterAll(() => server?.stop());
  afterEach(restoreClock);

  it("redeems a code within its lifetime and refuses an expired one", async () => {
    const redeem = ({ callbackUrl, start }: Awaited<ReturnType<typeof signIn>>) =>
      tokenRequest(
        server.issuer,
        {
          grant_type: "authorization_code",
          code: callbackUrl.searchParams.get("code") as string,
          redirect_uri: RP_CALLBACK,
          code_verifier: start.codeVerifier,
        },
        rp,
      );
    const early = await signIn(server, rp);
    const late = await signIn(server, rp);
    moveClock(250);
    expect((await redeem(early)).status).toBe(200);
    moveClock(100);
    expect(await redeem(late)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("refuses a refresh token past its absolute lifetime even though it was rotated (§9)", async () => {
    // Rotated at 150 s, idle alone would keep the new token until 350 s; the absolute lifetime ends it at 300 s.
    const { tokens } = await signInAndRedeem(server, rp, new BrowserSession());
    const firstIssued = (await oidc.tokenIntrospection(rp.config, tokens.refresh_token as string)).iat as number;
    moveClock(150);
    const rotated = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string);
    // The rotated token itself expires at the absolute end, not a full idle lifetime after rotation
    // (the grant's own lifetime enforces the same end: defence in depth).
    const rotatedExpiry = (await oidc.tokenIntrospection(rp.config, rotated.refresh_token as string)).exp as number;
    expect(rotatedExpiry).toBeLessThanOrEqual(firstIssued + 300);
    moveClock(170);
    await expect(oidc.refreshTokenGrant(rp.config, rotated.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
  });
});
