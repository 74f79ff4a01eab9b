import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run-command.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #14: the CLI covers groups, per-app access and custom claims like the admin API (one administration path).
// The commands run in this process against a server's services (the CLI's own process, socket and
// exit codes are tested in cli-direct, cli-forwarded and cli-server).
describe("operator CLI: groups, allowed groups and custom claims", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { CUSTOM_SCOPES: "nextcloud=quota,nc_roles" } });
  });
  afterAll(() => server?.stop());

  async function cli(argv: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runCommand(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), stdin: null }, server.services);
    return { code, stdout, stderr };
  }

  it("creates a group, adds a member, restricts an app to it, refuses deleting it meanwhile, and files claims", async () => {
    expect((await cli(["users", "create", "--email", "grace@example.com", "--no-password"])).code).toBe(0);
    const created = await cli(["groups", "create", "Staff", "--json"]);
    expect(created.stderr).toBe("");
    expect(JSON.parse(created.stdout)).toMatchObject({ name: "staff", members: [] });
    const added = await cli(["groups", "add-member", "staff", "grace@example.com"]);
    expect(added.stdout).toContain("Added grace@example.com to staff.");

    const app = await cli(["clients", "create", "--name", "Wiki", "--redirect-uri", "https://wiki.example.com/cb", "--allowed-groups", "staff", "--json"]);
    expect(app.stderr).toBe("");
    const client = JSON.parse(app.stdout) as { client_id: string; allowed_groups: string[] };
    expect(client.allowed_groups).toEqual(["staff"]);
    expect((await cli(["clients", "show", client.client_id])).stdout).toContain("allowed:       members of staff");

    const refused = await cli(["groups", "delete", "staff"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`group "staff" restricts "Wiki" (${client.client_id})`);
    const unknown = await cli(["clients", "update", client.client_id, "--allowed-groups", "nobody"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--allowed-groups: no group named "nobody"');

    const claim = await cli(["claims", "set", "--group", "staff", "--name", "nc_roles", "--json-value", '["editor"]', "--json"]);
    expect(claim.stderr).toBe("");
    expect(JSON.parse(claim.stdout)).toEqual({ nc_roles: { value: ["editor"], scope: "nextcloud" } });
    const notJson = await cli(["claims", "set", "--user", "grace@example.com", "--name", "quota", "--json-value", "5 GB"]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain("--json-value is not JSON (for text, use --value)");
    const undeclared = await cli(["claims", "set", "--user", "grace@example.com", "--name", "shoe_size", "--value", "44"]);
    expect(undeclared.code).toBe(1);
    expect(undeclared.stderr).toContain("declare it under a scope in CUSTOM_SCOPES (declared: quota, nc_roles)");

    const shown = await cli(["groups", "show", "staff"]);
    expect(shown.stdout).toContain("members:  grace@example.com");
    expect(shown.stdout).toContain(`apps:     Wiki (${client.client_id})`);
    expect((await cli(["users", "show", "grace@example.com"])).stdout).toContain("groups:        staff");

    expect((await cli(["clients", "update", client.client_id, "--allowed-groups", "everyone"])).code).toBe(0);
    const deleted = await cli(["groups", "delete", "staff"]);
    expect(deleted.stdout).toContain("Deleted group staff (1 member(s) left it).");
    expect((await cli(["groups", "list"])).stdout).toContain("No groups yet.");
  });
});
