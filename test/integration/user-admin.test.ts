import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserSession } from "../helpers/browser-session.js";
import { authorizationRequest, createUser, type RelyingParty, registerRelyingParty, signIn, signInAndRedeem } from "../helpers/relying-party.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// The operator's side of issue #5 that the CLI offers now: disable, enable, delete, sign out.
describe("operator actions on accounts", () => {
  let server: TestServer;
  let rp: RelyingParty;
  let counter = 0;

  beforeAll(async () => {
    server = await startTestServer("pglite");
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(() => server?.stop());

  async function signedInUser() {
    const email = `admin-${++counter}@example.com`;
    const id = await createUser(server, email);
    const { tokens, browser } = await signInAndRedeem(server, rp, new BrowserSession(), email);
    return { email, id, tokens, browser };
  }

  const silentError = async (browser: BrowserSession) =>
    new URL((await browser.follow((await authorizationRequest(rp, { prompt: "none" })).url.toString(), server.issuer)).location as string).searchParams.get(
      "error",
    );

  it("disabling signs the user out everywhere and refuses sign-in until enabled again", async () => {
    const user = await signedInUser();
    expect((await server.services.userAdmin.disable(user.email)).disabled).toBe(true);
    await expect(oidc.refreshTokenGrant(rp.config, user.tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    expect(await silentError(user.browser)).toBe("login_required");
    await expect(signIn(server, rp, new BrowserSession(), {}, user.email)).rejects.toThrow("did not reach the callback");

    await server.services.userAdmin.enable(user.id);
    await expect(signIn(server, rp, new BrowserSession(), {}, user.email)).resolves.toBeDefined();
    const events = (await server.services.events.listForUser(user.id)).map((event) => event.type);
    expect(events).toEqual(expect.arrayContaining(["user.disabled", "user.enabled"]));
  });

  it("deletes the account with its factors and tokens, keeping the security record", async () => {
    const user = await signedInUser();
    await server.services.backupCodes.regenerate(user.id);
    await server.services.userAdmin.delete(user.email);
    expect(await server.database.prisma.user.findUnique({ where: { id: user.id } })).toBeNull();
    expect(await server.database.prisma.backupCode.count({ where: { userId: user.id } })).toBe(0);
    await expect(oidc.refreshTokenGrant(rp.config, user.tokens.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    expect((await server.services.events.listForUser(user.id)).map((event) => event.type)).toContain("user.deleted");
    await expect(server.services.userAdmin.show(user.email)).rejects.toThrow("no user with id or email");
  });

  it("signs a user out everywhere without touching other users", async () => {
    const user = await signedInUser();
    const other = await signedInUser();
    const { removed } = await server.services.userAdmin.signOut(user.id);
    // What one sign-in and redemption left: its session, grant, code, access and refresh token.
    expect(removed).toBe(5);
    expect(await server.database.prisma.oidcPayload.count({ where: { accountId: user.id } })).toBe(0);
    expect(await silentError(user.browser)).toBe("login_required");
    expect(await silentError(other.browser)).toBeNull();
    expect((await oidc.refreshTokenGrant(rp.config, other.tokens.refresh_token as string)).access_token).toBeTruthy();
  });
});
