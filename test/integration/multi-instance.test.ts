import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { heardAt } from "../helpers/heard.js";
import { createUser, type RelyingParty, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import type { TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";
import { startTwoInstances, stopInstances } from "../helpers/two-instances.js";

// Two server processes on one PostgreSQL database: what one revokes, the other stops serving,
// although it had the token in its cache.
describe.skipIf(!process.env.TEST_POSTGRES_URL)("two instances on one PostgreSQL database", () => {
  let first: TestServer;
  let second: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    [first, second] = await startTwoInstances("postgres");
    rp = await registerRelyingParty(first);
    await createUser(first);
  });
  afterAll(() => stopInstances(first, second));

  const userinfoAt = (server: TestServer, token: string) => fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${token}` } });

  it("a revocation at one instance ends the token at the other", async () => {
    const { tokens } = await signInAndRedeem(first, rp, new BrowserSession());
    expect((await userinfoAt(second, tokens.access_token)).status).toBe(200);
    const heard = heardAt(second);
    await oidc.tokenRevocation(rp.config, tokens.access_token);
    await heard;
    expect((await userinfoAt(second, tokens.access_token)).status).toBe(401);
  });

  it("refresh-token reuse detected at one instance revokes the grant at the other", async () => {
    const { tokens } = await signInAndRedeem(first, rp, new BrowserSession());
    const rotated = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string);
    expect((await userinfoAt(second, rotated.access_token)).status).toBe(200);
    const heard = heardAt(second, (message) => "grantId" in message);
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    await heard;
    expect((await userinfoAt(second, rotated.access_token)).status).toBe(401);
  });

  it("of 50 parallel rotations of one refresh token spread over both instances, exactly one succeeds and the grant dies", async () => {
    const { tokens } = await signInAndRedeem(first, rp, new BrowserSession());
    // Both instances hold the token (and its grant) in their caches, unconsumed.
    expect((await userinfoAt(second, tokens.access_token)).status).toBe(200);
    const auth = { clientId: rp.clientId, clientSecret: rp.clientSecret };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        tokenRequest((index % 2 ? second : first).issuer, { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string }, auth),
      ),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === "invalid_grant")).toHaveLength(49);
    const won = winners[0]?.body as { access_token: string; refresh_token: string };
    for (const server of [first, second]) {
      expect((await userinfoAt(server, won.access_token)).status).toBe(401);
      expect((await userinfoAt(server, tokens.access_token)).status).toBe(401);
    }
    await expect(tokenRequest(second.issuer, { grant_type: "refresh_token", refresh_token: won.refresh_token }, auth)).resolves.toMatchObject({
      status: 400,
      body: { error: "invalid_grant" },
    });
  });

  it("a second-factor lock-out at one instance holds at the other", async () => {
    const id = await createUser(first, "lockout@example.com");
    await first.services.backupCodes.regenerate(id);
    const origin = { ip: "127.0.0.1", userAgent: "test" };
    for (let i = 0; i < 5; i += 1) await expect(first.services.secondFactors.verifyCode(id, "000000", origin)).rejects.toThrow("not valid");
    await expect(second.services.secondFactors.verifyCode(id, "000000", origin)).rejects.toThrow("Too many wrong codes");
  });

  it("signing an account out everywhere at one instance ends the tokens the other had cached", async () => {
    const { tokens } = await signInAndRedeem(first, rp, new BrowserSession());
    expect((await userinfoAt(second, tokens.access_token)).status).toBe(200);
    const { sub } = tokens.claims() as { sub: string };
    const heard = heardAt(second, (message) => "accountId" in message);
    await first.services.signOutEverywhere(sub);
    await heard;
    expect((await userinfoAt(second, tokens.access_token)).status).toBe(401);
  });
});
