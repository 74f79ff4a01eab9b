import * as oidc from "openid-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { createUser, type RelyingParty, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #14: an app with the refresh_token grant gets a refresh token at every code exchange; without
// offline_access it lives and dies with the IdP session, with it (consented) it outlives the session.
describe.each(DATABASE_KINDS)("refresh tokens without and with offline_access (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let userId: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { ttl: { sessionIdleSeconds: 60, sessionAbsoluteSeconds: 300 } });
    rp = await registerRelyingParty(server);
    userId = await createUser(server);
  });
  afterEach(() => restoreClock());
  afterAll(() => server?.stop());

  async function tokensFor(scope: string) {
    const { callbackUrl, start } = await signIn(server, rp, new BrowserSession(), { scope });
    return oidc.authorizationCodeGrant(rp.config, callbackUrl, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
  }

  const refreshes = async (refreshToken: string) => {
    try {
      return { ok: true, next: (await oidc.refreshTokenGrant(rp.config, refreshToken)).refresh_token as string };
    } catch (error) {
      return { ok: false, error: (error as { error?: string }).error };
    }
  };

  it("issues one without offline_access, bound to the session: it rotates, and stops with sign out everywhere", async () => {
    const tokens = await tokensFor("openid email");
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope?.split(" ")).not.toContain("offline_access");
    const rotated = await refreshes(tokens.refresh_token as string);
    expect(rotated.ok).toBe(true);

    await server.services.signOutEverywhere(userId);
    expect(await refreshes(rotated.next as string)).toEqual({ ok: false, error: "invalid_grant" });
  });

  it("a session-bound one ends with its session's idle lifetime; an offline one outlives it", async () => {
    const bound = await tokensFor("openid email");
    const offline = await tokensFor("openid email offline_access");
    expect(offline.scope?.split(" ")).toContain("offline_access");

    moveClock(30);
    const boundInSession = await refreshes(bound.refresh_token as string);
    expect(boundInSession.ok).toBe(true);
    // Past the 60 s idle timeout: the session is gone (a refresh is not a use of the IdP session).
    moveClock(61);
    expect(await refreshes(boundInSession.next as string)).toEqual({ ok: false, error: "invalid_grant" });
    expect((await refreshes(offline.refresh_token as string)).ok).toBe(true);
  });
});
