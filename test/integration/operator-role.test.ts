import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run-command.js";
import { createUser } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

// Issue #14: the operator role and the user search, through the CLI and the admin API alike
// (the console uses the same administration path).
describe.each(DATABASE_KINDS)("operator role and user search in the CLI and the admin API (%s)", (kind) => {
  let server: TestServer;
  let token: string;

  async function cli(...argv: string[]) {
    let stdout = "";
    let stderr = "";
    const io = {
      stdin: null,
      stdout: (text: string) => {
        stdout += text;
      },
      stderr: (text: string) => {
        stderr += text;
      },
    };
    return { code: await runCommand(argv, io, server.services), stdout, stderr };
  }

  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${server.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json().catch(() => null)) as Record<string, unknown> };
  }

  beforeAll(async () => {
    server = await startTestServer(kind);
    const machine = await server.services.clients.create({ name: "Operations", redirectUris: [], clientCredentials: true, scopes: ["admin"] });
    const issued = await tokenRequest(
      server.issuer,
      { grant_type: "client_credentials", scope: "admin" },
      { clientId: machine.client_id, clientSecret: machine.client_secret as string },
    );
    token = issued.body.access_token as string;
  });
  afterAll(() => server?.stop());

  it("grants and takes the operator role with `users update --role`, audited with the CLI as actor, and refuses other roles", async () => {
    const id = await createUser(server, `role-cli-${kind}@example.com`);
    const granted = await cli("users", "update", `role-cli-${kind}@example.com`, "--role", "operator", "--json");
    expect(granted.code, granted.stderr).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ id, role: "operator" });
    expect((await server.services.userQueries.findUserById(id))?.role).toBe("operator");

    const wrong = await cli("users", "update", id, "--role", "root");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('the role is one of user, operator (got "root")');
    expect((await cli("users", "update", id)).stderr).toContain("needs --name, --username or --role");

    // Another operator exists (below), so this one may go back to being a user.
    const other = await createUser(server, `role-other-${kind}@example.com`);
    await server.services.administration({ actor: "test", ip: null }).users.update(other, { role: "operator" });
    expect((await cli("users", "update", id, "--role", "user")).code).toBe(0);
    const audit = await server.services.audit.query({ targetId: id, limit: 10 });
    expect(audit.map((event) => [event.action, event.actor.startsWith("cli:"), (event.after as { role: string }).role])).toEqual([
      ["user.updated", true, "user"],
      ["user.updated", true, "operator"],
    ]);
    const shown = await cli("users", "show", id);
    expect(shown.stdout).toContain("role:          user");
  });

  it("refuses to demote, disable or delete the last enabled operator, in the CLI (exit 1) and the API (409)", async () => {
    // Leave exactly one enabled operator.
    const admin = server.services.administration({ actor: "test", ip: null });
    for (const user of (await server.services.users.list()).filter((u) => u.role === "operator"))
      await admin.users.update(user.id, { role: "user" }).catch(() => {});
    const operators = (await server.services.users.list()).filter((u) => u.role === "operator" && !u.disabled);
    const last = operators[0] ?? (await admin.users.update(await createUser(server, `last-${kind}@example.com`), { role: "operator" }));
    expect(operators.length <= 1).toBe(true);

    for (const argv of [
      ["update", last.id, "--role", "user"],
      ["disable", last.id],
      ["delete", last.id],
    ]) {
      const refused = await cli("users", ...argv);
      expect(refused.code, argv.join(" ")).toBe(1);
      expect(refused.stderr).toContain(`${last.email} is the last operator: make someone else an operator first`);
    }
    const viaApi = await api("PATCH", `/users/${last.id}`, { role: "user" });
    expect(viaApi).toMatchObject({ status: 409, body: { error: "conflict" } });
    expect((await api("POST", `/users/${last.id}/disable`)).status).toBe(409);
    expect((await api("DELETE", `/users/${last.id}`)).status).toBe(409);
    const row = await server.services.userQueries.findUserById(last.id);
    expect(row).toMatchObject({ role: "operator", disabledAt: null });

    // With a second operator, the first may go.
    const second = await createUser(server, `second-${kind}@example.com`);
    expect((await api("PATCH", `/users/${second}`, { role: "operator" })).body).toMatchObject({ role: "operator" });
    expect((await api("PATCH", `/users/${last.id}`, { role: "user" })).body).toMatchObject({ role: "user" });
    expect((await api("PATCH", `/users/${second}`, { role: "admin" })).status).toBe(400);
    expect((await api("PATCH", `/users/${second}`, { role: ["operator"] })).status).toBe(400);
  });

  it("searches users by part of the email or the name, any case, a page at a time", async () => {
    for (const n of [1, 2, 3]) await server.services.users.create({ email: `finder-${n}-${kind}@example.org`, name: `Zed Finder ${n}` });
    await server.services.users.create({ email: `odd_${kind}@example.org`, name: "Percent 100%" });

    const byEmail = await cli("users", "list", "--search", "FINDER-", "--json");
    expect((JSON.parse(byEmail.stdout) as { email: string }[]).map((u) => u.email)).toEqual([1, 2, 3].map((n) => `finder-${n}-${kind}@example.org`));
    const byName = await api("GET", "/users?search=zed%20finder&limit=2&offset=1");
    expect(byName.body).toMatchObject({ total: 3, users: [{ email: `finder-2-${kind}@example.org` }, { email: `finder-3-${kind}@example.org` }] });
    // LIKE's wildcards are text here.
    expect(((await api("GET", "/users?search=100%25")).body.users as { email: string }[]).map((u) => u.email)).toEqual([`odd_${kind}@example.org`]);
    expect(((await api("GET", "/users?search=d_")).body.users as unknown[]).length).toBe(1);

    expect((await cli("users", "list", "--search", "x", "--limit", "many")).code).toBe(2);
    expect((await api("GET", "/users?limit=0")).status).toBe(400);
    expect((await api("GET", "/users?search=a&search=b")).status).toBe(400);
  });

  it("offers the console's overview and paged security events and audit records through the API and the CLI", async () => {
    const id = await createUser(server, `paged-${kind}@example.com`);
    const admin = server.services.administration({ actor: "operator:test", ip: null });
    for (const role of ["operator", "user", "operator"]) await admin.users.update(id, { role });
    const events = await api("GET", `/events?user=${id}&type=user.role&limit=2`);
    expect((events.body.events as { details: { role: string } }[]).map((event) => event.details.role)).toEqual(["operator", "user"]);
    const next = await api("GET", `/events?user=${id}&type=user.role&limit=2&offset=2`);
    expect((next.body.events as { details: { role: string } }[]).map((event) => event.details.role)).toEqual(["operator"]);
    expect((await api("GET", "/events?offset=-1")).status).toBe(400);
    expect((await api("GET", `/audit?target=${id}&limit=1&offset=1`)).body.events).toMatchObject([{ action: "user.updated", after: { role: "user" } }]);

    const overview = await api("GET", "/overview");
    expect(overview.body).toMatchObject({ users: await server.database.prisma.user.count(), apps: await server.database.prisma.client.count() });
    const printed = await cli("events", "overview", "--json");
    expect(JSON.parse(printed.stdout)).toMatchObject({ users: overview.body.users, apps: overview.body.apps });
    expect((await cli("events", "overview")).stdout).toMatch(/^people: +\d+ \(\d+ active\)$/m);
    const audit = await cli("events", "audit", "--target", id, "--limit", "1", "--offset", "2", "--json");
    expect(JSON.parse(audit.stdout)).toMatchObject([{ after: { role: "operator" } }]);
    expect((await cli("events", "list", "--offset", "x")).code).toBe(2);
  });
});
