import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readMigrationsList } from "../../src/db/migrations.js";
import { operatorCli, runCliRecordingModules, runEntry } from "../helpers/cli-process.js";
import { freePort } from "../helpers/free-port.js";
import { spawnServer, stopServer, waitUntilStarted } from "../helpers/server-process.js";
import { seededDataDir } from "../helpers/test-database.js";

// Every step runs the CLI as a real process (a second or more each on a loaded machine), hence the longer timeout.
describe("operator CLI: beside a running server, keys, configuration", { timeout: 180_000 }, () => {
  const dataDir = seededDataDir("idp-cli-");
  const env = { DATA_DIR: dataDir, DATABASE_URL: "" };
  const cli = operatorCli(env);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("runs commands inside a running server, and a second server on the same DATA_DIR fails clearly", async () => {
    const port = await freePort();
    const server = spawnServer({ ...env, PORT: String(port), HOST: "127.0.0.1", ISSUER: `http://127.0.0.1:${port}` });
    try {
      await waitUntilStarted(server);
      const created = await cli(["clients", "create", "--name", "While running", "--redirect-uri", "https://app.example.com/cb", "--json"]);
      expect(created.code).toBe(0);
      const { client_id: clientId } = JSON.parse(created.stdout) as { client_id: string };
      // The running server sees the client at once (it made it).
      const auth = await fetch(
        `http://127.0.0.1:${port}/auth?client_id=${clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent("https://app.example.com/evil")}`,
      );
      expect(auth.status).toBe(400);
      expect(await auth.text()).toContain("redirect_uri");

      const refused = await cli(["clients", "create", "--name", "x", "--redirect-uri", "ftp://x"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("must use https");

      // Forwarding needs the configuration (tldts: WEBAUTHN_ORIGINS are checked as every setting is), the lock and a socket: not the database or the services.
      const forwarded = await runCliRecordingModules(["clients", "list", "--json"], env);
      expect(forwarded.code).toBe(0);
      expect(JSON.parse(forwarded.stdout)).toHaveLength(1);
      expect(forwarded.dependencies.sort()).toEqual(["proper-lockfile", "proxy-addr", "tldts", "zod"]);
      expect(forwarded.sources.filter((path) => !path.startsWith("cli/")).sort()).toEqual([
        "config.ts",
        "db/data-dir-lock.ts",
        "db/data-dir-permissions.ts",
        "db/process-identity.ts",
        "errors.ts",
        "http/input-text.ts",
        // The names of the settings' values: the languages with catalogs, the passkey policy's scopes.
        "i18n/languages.ts",
        "node-version.ts",
        "paths.ts",
        "webauthn/passkey-policy.ts",
      ]);

      const second = await runEntry("src/main.ts", [], { ...env, PORT: String(await freePort()) });
      expect(second.code).not.toBe(0);
      expect(second.stderr).toContain("is in use by another process");
    } finally {
      await stopServer(server);
    }
    // After the server stops the CLI opens the directory itself again.
    const list = await cli(["clients", "list", "--json"]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(1);
  });

  it("migrates an empty DATA_DIR on its first command and says so; then finds the schema current without loading the schema engine", async () => {
    // The other CLI suites start from a migrated copy: this is the path a new installation takes.
    const empty = mkdtempSync(join(tmpdir(), "idp-cli-empty-"));
    try {
      const first = await runCliRecordingModules(["db", "migrate"], { DATA_DIR: empty, DATABASE_URL: "" });
      expect(first.code).toBe(0);
      expect(first.dependencies).toContain("@prisma/schema-engine-wasm");
      const applied = /Applied migrations: (.*)\n/.exec(first.stderr)?.[1]?.split(", ");
      expect(applied).toEqual(readMigrationsList().migrationDirectories.map((directory) => directory.path));
      // A warm start: one query finds every migration recorded, and the schema engine is never loaded.
      const again = await runCliRecordingModules(["db", "migrate"], { DATA_DIR: empty, DATABASE_URL: "" });
      expect(again).toMatchObject({ code: 0, stderr: "", stdout: "The database schema is up to date.\n" });
      expect(again.dependencies).not.toContain("@prisma/schema-engine-wasm");
      expect(again.sources).not.toContain("db/schema-engine.ts");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("rotates signing keys and lists them: the new ones pending (published), the old ones signing until then", async () => {
    // The very first keys sign at once (nothing signed before them): make sure there are some.
    if ((JSON.parse((await cli(["keys", "list", "--json"])).stdout) as unknown[]).length === 0) await cli(["keys", "rotate"]);
    const rotated = await cli(["keys", "rotate", "--json"]);
    expect(rotated.code).toBe(0);
    const keys = JSON.parse((await cli(["keys", "list", "--json"])).stdout) as { status: string; alg: string; retired_at: string | null }[];
    const algsOf = (status: string) =>
      keys
        .filter((key) => key.status === status)
        .map((key) => key.alg)
        .sort();
    expect(algsOf("pending")).toEqual(["ES256", "RS256"]);
    expect(algsOf("active")).toEqual(["ES256", "RS256"]);
    expect(keys.filter((key) => key.status === "active").every((key) => key.retired_at !== null)).toBe(true);
  });

  it("prints usage without reading the configuration or loading anything of the application", async () => {
    // A DATA_DIR inside a file, a database nothing listens on and an invalid issuer: any of them fails every other command.
    writeFileSync(join(dataDir, "a-file"), "");
    const unusable = { DATA_DIR: join(dataDir, "a-file", "data"), DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", ISSUER: "not a url" };
    for (const args of [["--help"], ["help"], []]) {
      const help = await runCliRecordingModules(args, unusable);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("Usage: npm run idp");
      expect(help.stderr).toBe("");
      expect(help.dependencies).toEqual([]);
      expect(help.sources.filter((path) => !path.startsWith("cli/") && path !== "errors.ts" && path !== "node-version.ts")).toEqual([]);
    }
  });

  it("names the bad setting when the configuration is invalid", async () => {
    const result = await cli(["clients", "list"], undefined);
    expect(result.code).toBe(0);
    const bad = await runEntry("src/cli/main.ts", ["clients", "list"], { ...env, ISSUER: "http://idp.example.com" });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain("ISSUER must be an https URL");
    const badServer = await runEntry("src/main.ts", [], { ...env, NODE_ENV: "production", ISSUER: "https://idp.example.com" });
    expect(badServer.code).toBe(78);
    expect(badServer.stderr).toContain("SECRET_KEY (or SECRET_KEY_FILE) is required");
  });
});
