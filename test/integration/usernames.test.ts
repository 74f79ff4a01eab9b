import { rmSync } from "node:fs";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApi } from "../helpers/admin-api.js";
import { BrowserSession } from "../helpers/browser-session.js";
import { operatorCli } from "../helpers/cli-process.js";
import { createUser, type RelyingParty, registerRelyingParty, signIn } from "../helpers/relying-party.js";
import { DATABASE_KINDS, seededDataDir } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #14: an optional unique username per person, released as `preferred_username` (scope profile),
// and `users update` (name, username, role) in the CLI and the admin API, audited.
describe.each(DATABASE_KINDS)("usernames and users update (%s)", (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let api: Awaited<ReturnType<typeof adminApi>>;
  let counter = 0;

  beforeAll(async () => {
    // Userinfo reads the account through a short cache (caches.accountSeconds); off, to see each change at once.
    server = await startTestServer(kind, { caches: { accountSeconds: 0 } });
    rp = await registerRelyingParty(server);
    api = await adminApi(server);
  });
  afterAll(() => server?.stop());

  const newUser = async () => {
    const email = `person-${++counter}@example.com`;
    return { email, id: await createUser(server, email) };
  };

  async function tokensFor(email: string, scope: string) {
    const { callbackUrl, start } = await signIn(server, rp, new BrowserSession(), { scope }, email);
    return oidc.authorizationCodeGrant(rp.config, callbackUrl, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
  }

  it("stores a username in lower case, releases it as preferred_username with scope profile only, and audits the change", async () => {
    const user = await newUser();
    const updated = await api("PATCH", `/users/${user.id}`, { username: "  Alice.Smith ", name: "Alice Smith" });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: user.id, username: "alice.smith", name: "Alice Smith", role: "user" });

    const userinfo = async (scope: string) => {
      const tokens = await tokensFor(user.email, scope);
      const fromUserinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()?.sub as string);
      expect(tokens.claims()?.preferred_username).toBe(fromUserinfo.preferred_username);
      return fromUserinfo;
    };
    expect(await userinfo("openid profile")).toMatchObject({ preferred_username: "alice.smith", name: "Alice Smith" });
    expect(await userinfo("openid email")).not.toHaveProperty("preferred_username");

    const [audit] = await server.services.audit.query({ targetId: user.id, actionPrefix: "user.updated", limit: 1 });
    expect(audit).toMatchObject({ action: "user.updated", before: { username: null }, after: { username: "alice.smith" } });
    expect(audit?.actor).toMatch(/^client:/);

    const cleared = await api("PATCH", `/users/${user.id}`, { username: "" });
    expect(cleared.body.username).toBeNull();
    expect(await userinfo("openid profile")).not.toHaveProperty("preferred_username");
  });

  it("refuses a taken username (any case) and hostile values, changing nothing", async () => {
    const first = await newUser();
    const second = await newUser();
    expect((await api("PATCH", `/users/${first.id}`, { username: "taken" })).status).toBe(200);
    const before = (await api("GET", `/users/${second.id}`)).body;
    const taken = await api("PATCH", `/users/${second.id}`, { username: "TAKEN" });
    expect(taken).toMatchObject({ status: 409, body: { error: "conflict", error_description: expect.stringContaining("taken") } });

    for (const username of ["a@b", "-x", "x-", "with space", "tab\tx", "crlf\r\nx", "x".repeat(65), "é"]) {
      const refused = await api("PATCH", `/users/${second.id}`, { username });
      expect(refused.status, username).toBe(400);
      expect(refused.body.error_description).toContain("a username is 1 to 64");
    }
    for (const body of [
      { username: ["a"] },
      { username: "x".repeat(100_000) },
      { name: "x\u0000" },
      { name: "line\nbreak" },
      { role: "admin" },
      { role: "Operator" },
      { email: "x@example.com" },
    ]) {
      expect([400, 413], JSON.stringify(body).slice(0, 40)).toContain((await api("PATCH", `/users/${second.id}`, body)).status);
    }
    const unchanged = await api("GET", `/users/${second.id}`);
    expect(unchanged.body).toEqual(before);
    expect(before).toMatchObject({ username: null, role: "user" });
    expect((await api("PATCH", "/users/nobody@example.com", { username: "ghost" })).status).toBe(404);
  });

  it("gives one username to exactly one of 50 people claiming it at once", async () => {
    const people = await Promise.all(Array.from({ length: 50 }, newUser));
    const answers = await Promise.all(people.map((person) => api("PATCH", `/users/${person.id}`, { username: "contested" })));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(49);
    expect(await server.database.prisma.user.count({ where: { username: "contested" } })).toBe(1);
  });

  it("grants and revokes the operator role, recorded as a security event", async () => {
    const user = await newUser();
    // Another operator first: the last enabled operator keeps the role (operator-role.test.ts).
    expect((await api("PATCH", `/users/${(await newUser()).id}`, { role: "operator" })).body.role).toBe("operator");
    expect((await api("PATCH", `/users/${user.id}`, { role: "operator" })).body.role).toBe("operator");
    expect((await api("PATCH", `/users/${user.id}`, { role: "user" })).body.role).toBe("user");
    const changes = (await server.services.events.listForUser(user.id)).filter((event) => event.type === "user.role_changed");
    expect(changes.map((event) => (event.details as { role: string }).role).sort()).toEqual(["operator", "user"]);
  });
});

describe("users update in the CLI", { timeout: 120_000 }, () => {
  const dataDir = seededDataDir("idp-cli-");
  const cli = operatorCli({ DATA_DIR: dataDir, DATABASE_URL: "" });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("sets name, username and role, and explains a bad value with a non-zero exit", async () => {
    expect((await cli(["users", "create", "--email", "cli-person@example.com", "--no-password"])).code).toBe(0);
    const done = await cli(["users", "update", "cli-person@example.com", "--username", "Cli.Person", "--role", "operator", "--name", "C. Person", "--json"]);
    expect(done.stderr).toBe("");
    expect(JSON.parse(done.stdout)).toMatchObject({ username: "cli.person", role: "operator", name: "C. Person" });

    const bad = await cli(["users", "update", "cli-person@example.com", "--role", "root"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("the role is one of user, operator");
    const nothing = await cli(["users", "update", "cli-person@example.com"]);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain("needs --name, --username or --role");
  });
});
