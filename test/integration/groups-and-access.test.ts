import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApi } from "../helpers/admin-api.js";
import { BrowserSession, csrfTokenOf, formActionOf } from "../helpers/browser-session.js";
import {
  authorizationRequest,
  completeInteraction,
  createUser,
  type RelyingParty,
  RP_CALLBACK,
  registerRelyingParty,
  signIn,
} from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #14: groups in tokens, apps restricted to groups (a clear page, access_denied, a security
// event), custom claims on people and groups released only under their custom scope.
describe.each(DATABASE_KINDS)("groups, per-app access and custom claims (%s)", (kind) => {
  let server: TestServer;
  let api: Awaited<ReturnType<typeof adminApi>>;
  let counter = 0;

  beforeAll(async () => {
    // Userinfo and the token endpoint read the account through a short cache (caches.accountSeconds); off, to see each change at once.
    server = await startTestServer(kind, { caches: { accountSeconds: 0 } }, { env: { CUSTOM_SCOPES: "nextcloud=quota,nc_roles wiki=wiki_role" } });
    api = await adminApi(server);
  });
  afterAll(() => server?.stop());

  const newUser = async () => {
    const email = `member-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  };
  const newGroup = async () => {
    const created = await api("POST", "/groups", { name: `Group-${++counter}` });
    expect(created.status).toBe(201);
    return created.body as { id: string; name: string };
  };

  async function tokens(rp: RelyingParty, email: string, scope: string, browser = new BrowserSession()) {
    const { callbackUrl, start } = await signIn(server, rp, browser, { scope }, email);
    return oidc.authorizationCodeGrant(rp.config, callbackUrl, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
  }
  const userinfo = (rp: RelyingParty, issued: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers) =>
    oidc.fetchUserInfo(rp.config, issued.access_token, issued.claims()?.sub as string);

  it("releases the person's group names, sorted, as the groups claim with scope groups only", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const user = await newUser();
    const [b, a] = [await newGroup(), await newGroup()];
    for (const group of [b, a]) expect((await api("PUT", `/groups/${group.name}/members/${user.email}`)).status).toBe(201);
    expect((await api("PUT", `/groups/${a.name}/members/${user.email}`)).status).toBe(200);

    const issued = await tokens(rp, user.email, "openid groups");
    expect(issued.claims()?.groups).toEqual([b.name, a.name].sort());
    expect((await userinfo(rp, issued)).groups).toEqual([b.name, a.name].sort());
    expect(await userinfo(rp, await tokens(rp, user.email, "openid email"))).not.toHaveProperty("groups");
    const shown = await api("GET", `/users/${user.id}`);
    expect(shown.body.groups).toEqual([b.name, a.name].sort());
  });

  it("refuses a person outside an app's allowed groups with a page, access_denied for the app and a security event; members get in", async () => {
    const staff = await newGroup();
    const rp = await registerRelyingParty(server, { firstParty: true });
    const restricted = await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: [staff.name.toUpperCase()] });
    expect(restricted.body.allowed_groups).toEqual([staff.name]);

    const outsider = await newUser();
    const browser = new BrowserSession();
    const start = await authorizationRequest(rp, { scope: "openid" });
    const page = await completeInteraction(browser, server, start.url.toString(), outsider.email);
    expect(page.status).toBe(403);
    expect(page.text).toContain("You don't have access to <strong>Test RP</strong>. Ask your administrator.");
    const action = new URL(formActionOf(page.text, "/abort"), server.issuer).toString();
    const back = await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(page.text) }));
    const callback = new URL(back.location as string);
    expect(`${callback.origin}${callback.pathname}`).toBe(RP_CALLBACK);
    expect(callback.searchParams.get("error")).toBe("access_denied");
    const refusals = (await server.services.events.listForUser(outsider.id)).filter((event) => event.type === "access.denied");
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ outcome: "refused", details: { client_id: rp.clientId } });

    // Signed in now (for another app too): a silent request is refused at once, and recorded.
    const silent = await browser.follow((await authorizationRequest(rp, { scope: "openid", prompt: "none" })).url.toString(), server.issuer);
    expect(new URL(silent.location as string).searchParams.get("error")).toBe("access_denied");
    expect((await server.services.events.listForUser(outsider.id)).filter((event) => event.type === "access.denied")).toHaveLength(2);

    const member = await newUser();
    await api("PUT", `/groups/${staff.id}/members/${member.id}`);
    expect((await tokens(rp, member.email, "openid")).claims()?.sub).toBe(member.id);

    // Open to everyone again: the outsider gets in.
    expect((await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: null })).body.allowed_groups).toEqual([]);
    expect((await tokens(rp, outsider.email, "openid")).claims()?.sub).toBe(outsider.id);
  });

  it("ends a removed member's use of the app: the refresh token and the access token stop working", async () => {
    const team = await newGroup();
    const rp = await registerRelyingParty(server, { firstParty: true });
    await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: [team.name] });
    const user = await newUser();
    await api("PUT", `/groups/${team.name}/members/${user.email}`);
    const issued = await tokens(rp, user.email, "openid offline_access");
    const refreshed = await oidc.refreshTokenGrant(rp.config, issued.refresh_token as string);
    expect((await oidc.tokenIntrospection(rp.config, refreshed.access_token)).active).toBe(true);

    expect((await api("DELETE", `/groups/${team.name}/members/${user.email}`)).status).toBe(204);
    expect((await api("DELETE", `/groups/${team.name}/members/${user.email}`)).status).toBe(404);
    await expect(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token as string)).rejects.toMatchObject({ error: "invalid_grant" });
    await expect(userinfo(rp, refreshed)).rejects.toThrow();
    // A resource server introspecting the token hears the same (RFC 7662): not active.
    expect(await oidc.tokenIntrospection(rp.config, refreshed.access_token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(rp.config, refreshed.refresh_token as string)).toEqual({ active: false });
  });

  it("refuses deleting a group an app is restricted to (naming the app), and never leaves the app open when both race", async () => {
    const rp = await registerRelyingParty(server, { firstParty: true });
    const guard = await newGroup();
    await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: [guard.name] });
    const refused = await api("DELETE", `/groups/${guard.name}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error_description).toContain(`restricts "Test RP" (${rp.clientId})`);

    for (let round = 0; round < 10; round += 1) {
      const group = await newGroup();
      await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: [guard.name] });
      const [deleted, restricted] = await Promise.all([
        api("DELETE", `/groups/${group.id}`),
        api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: [group.name] }),
      ]);
      // Either the group went and the restriction was refused (the app keeps the old one), or the restriction holds and the delete was refused.
      expect([deleted.status, restricted.status].sort()).toSatisfy(
        (pair: number[]) => JSON.stringify(pair) === JSON.stringify([200, 409]) || JSON.stringify(pair) === JSON.stringify([204, 400]),
      );
      const allowed = (await api("GET", `/clients/${rp.clientId}`)).body.allowed_groups as string[];
      expect(allowed.length, `round ${round}`).toBe(1);
    }
  });

  it("deletes an app or a group once when 20 requests delete it at once: one success, one audit record", async () => {
    const rp = await registerRelyingParty(server);
    const appAnswers = await Promise.all(Array.from({ length: 20 }, () => api("DELETE", `/clients/${rp.clientId}`)));
    expect(appAnswers.filter((answer) => answer.status === 204)).toHaveLength(1);
    expect(appAnswers.filter((answer) => answer.status === 404)).toHaveLength(19);
    expect(await server.services.audit.query({ targetId: rp.clientId, actionPrefix: "client.deleted", limit: 100 })).toHaveLength(1);

    const group = await newGroup();
    const groupAnswers = await Promise.all(Array.from({ length: 20 }, () => api("DELETE", `/groups/${group.id}`)));
    expect(groupAnswers.filter((answer) => answer.status === 204)).toHaveLength(1);
    expect(groupAnswers.filter((answer) => answer.status === 404)).toHaveLength(19);
    expect(await server.services.audit.query({ targetId: group.id, actionPrefix: "group.deleted", limit: 100 })).toHaveLength(1);
  });

  it("refuses text-direction characters in people's and apps' names (they would reorder what an operator reads)", async () => {
    const user = await newUser();
    const rp = await registerRelyingParty(server);
    for (const name of ["TOOR\u202e", "a\u2066b", "x\u200fy"]) {
      expect((await api("PATCH", `/users/${user.id}`, { name })).status).toBe(400);
      expect((await api("PATCH", `/clients/${rp.clientId}`, { client_name: name })).status).toBe(400);
    }
    expect((await api("PATCH", `/users/${user.id}`, { name: "עִבְרִית Ünïcödé" })).status).toBe(200);
  });

  it("adds a member once when 50 requests add them at once (one audit record)", async () => {
    const group = await newGroup();
    const user = await newUser();
    const answers = await Promise.all(Array.from({ length: 50 }, () => api("PUT", `/groups/${group.id}/members/${user.id}`)));
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(49);
    expect((await server.services.audit.query({ targetId: group.id, actionPrefix: "group.member_added", limit: 100 })).length).toBe(1);
  });

  it("releases custom claims only under their scope, to apps allowed it: arrays merged across groups, the person's value overriding", async () => {
    const [dev, ops] = [await newGroup(), await newGroup()];
    const user = await newUser();
    for (const group of [dev, ops]) await api("PUT", `/groups/${group.id}/members/${user.id}`);
    expect((await api("PUT", `/groups/${dev.id}/claims/nc_roles`, { value: ["read", "write"] })).status).toBe(200);
    await api("PUT", `/groups/${ops.id}/claims/nc_roles`, { value: ["write", "deploy"] });
    await api("PUT", `/groups/${ops.id}/claims/quota`, { value: "1 GB" });
    const own = await api("PUT", `/users/${user.email}/claims/quota`, { value: "5 GB" });
    expect(own.body.claims).toEqual({ quota: { value: "5 GB", scope: "nextcloud" } });
    await api("PUT", `/users/${user.email}/claims/wiki_role`, { value: "editor" });

    const nextcloud = await registerRelyingParty(server, { firstParty: true, scopes: ["openid", "nextcloud"] });
    const nextcloudTokens = await tokens(nextcloud, user.email, "openid nextcloud");
    expect(nextcloudTokens.claims()).toMatchObject({ quota: "5 GB" });
    const claims = await userinfo(nextcloud, nextcloudTokens);
    const expectedRoles = [dev.name, ops.name].sort()[0] === dev.name ? ["read", "write", "deploy"] : ["write", "deploy", "read"];
    expect(claims).toMatchObject({ quota: "5 GB", nc_roles: expectedRoles });
    expect(claims).not.toHaveProperty("wiki_role");
    // wiki is not among this app's allowed scopes: asking for it is refused.
    await expect(tokens(nextcloud, user.email, "openid nextcloud wiki")).rejects.toThrow();

    const other = await registerRelyingParty(server, { firstParty: true });
    const plain = await userinfo(other, await tokens(other, user.email, "openid email"));
    expect(plain).not.toHaveProperty("quota");
    expect(plain).not.toHaveProperty("nc_roles");

    expect((await api("DELETE", `/users/${user.id}/claims/quota`)).status).toBe(204);
    expect((await userinfo(nextcloud, await tokens(nextcloud, user.email, "openid nextcloud"))).quota).toBe("1 GB");
    const audited = await server.services.audit.query({ targetId: user.id, actionPrefix: "claim.", limit: 10 });
    expect(audited.map((entry) => entry.action).sort()).toEqual(["claim.set", "claim.set", "claim.unset"]);
  });

  it("removes a claim filed under a name CUSTOM_SCOPES no longer declares", async () => {
    const user = await newUser();
    await server.database.prisma.customClaim.create({ data: { name: "retired_claim", value: "old", userId: user.id } });
    expect((await api("GET", `/users/${user.id}/claims`)).body.claims).toEqual({ retired_claim: { value: "old", scope: null } });
    expect((await api("DELETE", `/users/${user.id}/claims/retired_claim`)).status).toBe(204);
    expect((await api("GET", `/users/${user.id}/claims`)).body.claims).toEqual({});
    expect((await api("DELETE", `/users/${user.id}/claims/bad%20name`)).status).toBe(400);
  });

  it("keeps one row for a claim 50 requests set at once, with one of their values", async () => {
    const user = await newUser();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, index) => api("PUT", `/users/${user.id}/claims/quota`, { value: `${index} GB` })));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const rows = await server.database.prisma.customClaim.findMany({ where: { userId: user.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]?.value).toMatch(/^\d+ GB$/);
  });

  it("refuses hostile group names, claim names and values, changing nothing", async () => {
    const group = await newGroup();
    const user = await newUser();
    for (const name of ["", " ", "a b", "-x", "x".repeat(65), "crlf\r\nx", "semi;colon", "é"]) {
      const refused = await api("POST", "/groups", { name });
      expect(refused.status, JSON.stringify(name)).toBe(400);
    }
    for (const body of [{ name: ["x"] }, { name: "nul\u0000" }, { name: "x".repeat(100_000) }, { name: "ok", extra: 1 }]) {
      expect([400, 413]).toContain((await api("POST", "/groups", body)).status);
    }
    expect((await api("POST", "/groups", { name: group.name.toUpperCase() })).status).toBe(409);
    // "everyone" lifts a restriction in the CLI; a name shaped like an id could stand in for another group.
    expect((await api("POST", "/groups", { name: "Everyone" })).body.error_description).toContain('"everyone" is reserved');
    expect((await api("POST", "/groups", { name: group.id })).body.error_description).toContain("cannot have the shape of a group id");
    expect((await api("PATCH", `/groups/${group.id}`, { name: "bad name" })).status).toBe(400);

    expect((await api("PUT", `/users/${user.id}/claims/sub`, { value: "someone-else" })).body.error_description).toContain("is not a custom claim");
    expect((await api("PUT", `/users/${user.id}/claims/email_verified`, { value: true })).status).toBe(400);
    for (const value of ["nul\u0000", "x".repeat(5000), JSON.parse("[[[[[[[[[[1]]]]]]]]]]"), { "k\u0000": 1 }]) {
      expect((await api("PUT", `/users/${user.id}/claims/quota`, { value })).status).toBe(400);
    }
    expect((await api("PUT", `/users/${user.id}/claims/quota`, {})).status).toBe(400);
    expect((await api("PUT", "/users/nobody@example.com/claims/quota", { value: "1" })).status).toBe(404);
    expect((await api("PUT", "/groups/no-such-group/claims/quota", { value: "1" })).status).toBe(404);
    expect((await api("GET", `/users/${user.id}/claims`)).body.claims).toEqual({});
    expect((await api("PUT", `/groups/no-such-group/members/${user.id}`)).status).toBe(404);
    expect((await api("PUT", `/groups/${group.id}/members/nobody@example.com`)).status).toBe(404);
    const rp = await registerRelyingParty(server);
    const unknown = await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: ["no-such-group"] });
    expect(unknown).toMatchObject({ status: 400, body: { error_description: expect.stringContaining('allowed_groups: no group named "no-such-group"') } });
    expect((await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: ["x\u0000"] })).status).toBe(400);
    // A blank name never reads as "everyone".
    for (const allowed of [[" "], [""], ["", "  "], [group.name, ""]]) {
      const blank = await api("PATCH", `/clients/${rp.clientId}`, { allowed_groups: allowed });
      expect(blank.body.error_description, JSON.stringify(allowed)).toContain("allowed_groups: a group name cannot be blank");
    }
    // A value with a __proto__ key (the CLI's --json-value can carry one) would be a prototype to a relying party merging claims.
    await expect(
      server.services.administration({ actor: "cli:test", ip: null }).claims.set({ user: user.id }, "quota", JSON.parse('{"__proto__":{"x":1}}')),
    ).rejects.toMatchObject({ code: "claims.invalid_value", message: expect.stringContaining('"__proto__" key') });
    expect((await api("GET", `/clients/${rp.clientId}`)).body.allowed_groups).toEqual([]);
    expect((await api("GET", `/groups/${group.id}`)).body).toMatchObject({ name: group.name, members: [], claims: {} });
  });
});

// The token endpoint reads the account through its 5 s cache; the authorization reads memberships directly.
describe("a person added to an app's group a moment ago", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite");
  });
  afterAll(() => server?.stop());

  it("redeems the code the authorization gave them, though the cache still held them outside", async () => {
    const email = "just-added@example.com";
    const userId = await createUser(server, email);
    const open = await registerRelyingParty(server, { firstParty: true });
    const restricted = await registerRelyingParty(server, { firstParty: true });
    await server.services.groups.create("newcomers");
    await server.services.clients.update(restricted.clientId, { allowedGroups: ["newcomers"] });
    const redeem = async (rp: RelyingParty) => {
      const { callbackUrl, start } = await signIn(server, rp, new BrowserSession(), { scope: "openid" }, email);
      return oidc.authorizationCodeGrant(rp.config, callbackUrl, {
        pkceCodeVerifier: start.codeVerifier,
        expectedState: start.state,
        expectedNonce: start.nonce,
      });
    };
    // A code exchange at another app caches the account as it is: in no group.
    expect((await redeem(open)).claims()?.sub).toBe(userId);
    await server.services.groups.addMember("newcomers", email);
    expect((await redeem(restricted)).claims()?.sub).toBe(userId);
  });
});
