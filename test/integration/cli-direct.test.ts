import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, pgliteDirectory } from "../../src/db/open-database.js";
import { operatorCli, runEntry } from "../helpers/cli-process.js";
import { openTestDatabase, seededDataDir } from "../helpers/test-database.js";

// Every step runs the CLI as a real process that opens the database itself (a second or more each on a loaded machine).
describe("operator CLI on DATA_DIR itself (no server running): clients", { timeout: 180_000 }, () => {
  const dataDir = seededDataDir("idp-cli-");
  const env = { DATA_DIR: dataDir, DATABASE_URL: "" };
  const cli = operatorCli(env);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("creates a client, prints the secret once as JSON, and stores only its hash", async () => {
    const created = await cli([
      "clients",
      "create",
      "--name",
      "Web app",
      "--redirect-uri",
      "https://app.example.com/cb",
      "--redirect-uri",
      "http://localhost:8080/cb",
      "--json",
    ]);
    expect(created.stderr).not.toContain("Error");
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout) as Record<string, unknown>;
    expect(client).toMatchObject({
      client_name: "Web app",
      client_type: "confidential",
      redirect_uris: ["https://app.example.com/cb", "http://localhost:8080/cb"],
    });
    expect(client.client_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(client.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const shown = JSON.parse((await cli(["clients", "show", client.client_id as string, "--json"])).stdout) as Record<string, unknown>;
    expect(shown).not.toHaveProperty("client_secret");

    const rotated = JSON.parse((await cli(["clients", "rotate-secret", client.client_id as string, "--json"])).stdout) as Record<string, unknown>;
    expect(rotated.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.client_secret).not.toBe(client.client_secret);

    const updated = await cli([
      "clients",
      "update",
      client.client_id as string,
      "--redirect-uri",
      "https://app.example.com/new",
      "--minimum-acr",
      "mfa",
      "--json",
    ]);
    expect(JSON.parse(updated.stdout)).toMatchObject({ redirect_uris: ["https://app.example.com/new"], minimum_acr: "urn:idp:acr:mfa" });
    const cleared = await cli(["clients", "update", client.client_id as string, "--minimum-acr", "none", "--json"]);
    expect(JSON.parse(cleared.stdout).minimum_acr).toBeNull();

    const list = JSON.parse((await cli(["clients", "list", "--json"])).stdout) as unknown[];
    expect(list).toHaveLength(1);

    const database = await openDatabase({ databaseUrl: null, pgliteDir: pgliteDirectory(dataDir), migrate: false });
    try {
      const row = await database.prisma.client.findUniqueOrThrow({ where: { id: client.client_id as string } });
      expect(row.secretHash).not.toBe(rotated.client_secret);
      expect(JSON.stringify(row)).not.toContain(rotated.client_secret as string);
    } finally {
      await database.close();
    }

    const deleted = await cli(["clients", "delete", client.client_id as string]);
    expect(deleted.code).toBe(0);
    const missing = await cli(["clients", "show", client.client_id as string]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no client with id");
  });

  it("sets a client's allowed scopes and token lifetimes, and refuses admin for a browser app", async () => {
    const machine = await cli(["clients", "create", "--name", "Ops", "--client-credentials", "--scopes", "admin", "--access-token-ttl", "300", "--json"]);
    expect(machine.stderr).toBe("");
    expect(JSON.parse(machine.stdout)).toMatchObject({ scopes: ["admin"], access_token_ttl: 300, grant_types: ["client_credentials"] });
    const id = JSON.parse(machine.stdout).client_id as string;
    const reset = await cli(["clients", "update", id, "--scopes", "default", "--access-token-ttl", "default", "--json"]);
    expect({ code: reset.code, stderr: reset.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(reset.stdout)).toMatchObject({ scopes: null, access_token_ttl: null });
    const browserApp = await cli(["clients", "create", "--name", "Web", "--redirect-uri", "https://app.example.com/cb", "--scopes", "openid admin"]);
    expect(browserApp.code).toBe(1);
    expect(browserApp.stderr).toContain('"admin" is only for a machine client');
    const badTtl = await cli(["clients", "create", "--name", "Web", "--redirect-uri", "https://app.example.com/cb", "--refresh-token-ttl", "soon"]);
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toContain("--refresh-token-ttl must be a whole number of seconds");
    const audit = JSON.parse((await cli(["events", "audit", "--target", id, "--json"])).stdout) as { action: string }[];
    expect(audit.map((event) => event.action)).toEqual(["client.updated", "client.created"]);
    expect((await cli(["clients", "delete", id])).code).toBe(0);
  });

  it("sets and clears a client's access token format, audited, and refuses other values (issue #13)", async () => {
    const created = await cli(["clients", "create", "--name", "Worker", "--client-credentials", "--access-token-format", "jwt", "--json"]);
    expect(created.stderr).toBe("");
    const id = JSON.parse(created.stdout).client_id as string;
    expect(JSON.parse(created.stdout).access_token_format).toBe("jwt");
    const shown = await cli(["clients", "show", id]);
    expect(shown.stdout).toContain("token format:  jwt (for resource servers; not revocable before expiry)");
    const bad = await cli(["clients", "update", id, "--access-token-format", "paseto"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--access-token-format must be opaque or jwt (got "paseto")');
    const missing = await cli(["clients", "update", id, "--access-token-format"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--access-token-format");
    const cleared = await cli(["clients", "update", id, "--access-token-format", "opaque", "--json"]);
    expect(JSON.parse(cleared.stdout).access_token_format).toBe("opaque");
    const audit = JSON.parse((await cli(["events", "audit", "--target", id, "--json"])).stdout) as { action: string; after: { access_token_format: string } }[];
    expect(audit.map((event) => [event.action, event.after.access_token_format])).toEqual([
      ["client.updated", "opaque"],
      ["client.created", "jwt"],
    ]);
  });
});

describe.skipIf(!process.env.TEST_POSTGRES_URL)("operator CLI on PostgreSQL", () => {
  it("manages clients through DATABASE_URL and stores only the secret's hash", async () => {
    const database = await openTestDatabase("postgres");
    try {
      const env = { DATABASE_URL: database.url as string, DATA_DIR: mkdtempSync(join(tmpdir(), "idp-cli-pg-")) };
      const created = await runEntry(
        "src/cli/main.ts",
        ["clients", "create", "--name", "PG app", "--redirect-uri", "https://app.example.com/cb", "--json"],
        env,
      );
      expect(created.code).toBe(0);
      const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
      const row = await database.prisma.client.findUniqueOrThrow({ where: { id: client.client_id } });
      expect(JSON.stringify(row)).not.toContain(client.client_secret);
      const refused = await runEntry("src/cli/main.ts", ["clients", "create", "--name", "x", "--redirect-uri", "https://app.example.com/*"], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("must not contain wildcards");
    } finally {
      await database.close();
    }
  });
});
