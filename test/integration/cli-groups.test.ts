import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { operatorCli } from "../helpers/cli-process.js";
import { seededDataDir } from "../helpers/test-database.js";

// Issue #14: the CLI covers groups, per-app access and custom claims like the admin API (one administration path).
describe("operator CLI: groups, allowed groups and custom claims", { timeout: 180_000 }, () => {
  const dataDir = seededDataDir("idp-cli-");
  const cli = operatorCli({ DATA_DIR: dataDir, DATABASE_URL: "", CUSTOM_SCOPES: "nextcloud=quota,nc_roles" });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

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
