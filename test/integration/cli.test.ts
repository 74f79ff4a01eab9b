import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, pgliteDirectory } from "../../src/db/open-database.js";
import { openTestDatabase } from "../helpers/test-database.js";
import { freePort } from "../helpers/test-server.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX = join(ROOT, "node_modules/.bin/tsx");
const NODE = join(ROOT, "node_modules/.bin/node");
const DEPENDENCIES = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: object }).dependencies);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(entry: string, args: string[], env: Record<string, string>, stdin?: string): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(TSX, [entry, ...args], { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: "silent" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/** Runs the CLI and says which of the application's own modules and dependencies it loaded. */
async function runRecordingModules(args: string[], env: Record<string, string>): Promise<Result & { sources: string[]; dependencies: string[] }> {
  const file = join(mkdtempSync(join(tmpdir(), "idp-cli-modules-")), "modules.txt");
  const result = await new Promise<Result>((done) => {
    const child = spawn(NODE, ["--import", "tsx", "--import", "./test/helpers/record-modules.ts", "src/cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, RECORD_MODULES_TO: file },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end();
  });
  const urls = readFileSync(file, "utf8").split("\n");
  rmSync(resolve(file, ".."), { recursive: true, force: true });
  const sources = [...new Set(urls.filter((url) => url.startsWith(`file://${ROOT}/src/`)).map((url) => url.slice(`file://${ROOT}/src/`.length)))];
  const dependencies = DEPENDENCIES.filter((name) => urls.some((url) => url.includes(`/node_modules/${name}/`)));
  return { ...result, sources, dependencies };
}

function startServerProcess(env: Record<string, string>): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  return new Promise((ready, fail) => {
    const child = spawn(TSX, ["src/main.ts"], { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: "info" } });
    let output = "";
    const timer = setTimeout(() => fail(new Error(`server did not start: ${output}`)), 60_000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (output.includes("identity provider started")) {
        clearTimeout(timer);
        ready({
          child,
          stop: () =>
            new Promise((stopped) => {
              child.once("close", () => stopped());
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.stderr.on("data", (chunk) => (output += chunk));
  });
}

// Every step runs the CLI as a real process (seconds each on a loaded machine), hence the longer timeout.
describe("operator CLI", { timeout: 180_000 }, () => {
  let dataDir: string;
  let env: Record<string, string>;
  const cli = (args: string[], stdin?: string) => run("src/cli/main.ts", args, env, stdin);

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "idp-cli-"));
    env = { DATA_DIR: dataDir, DATABASE_URL: "" };
  });
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

  it.each([
    [["--redirect-uri", "https://app.example.com/cb#frag"], "must not contain a fragment"],
    [["--redirect-uri", "https://*.example.com/cb"], "must not contain wildcards"],
    [["--redirect-uri", "http://app.example.com/cb"], "must use https"],
    [["--redirect-uri", "/relative/cb"], "is not an absolute URL"],
    [["--redirect-uri", "https://user@app.example.com/cb"], "must not contain credentials"],
    [["--redirect-uri", "HTTPS://App.Example.com/cb"], "is not in canonical form"],
    [["--redirect-uri", "javascript:alert(1)"], "must use https"],
    [[], "at least one --redirect-uri is required"],
    [["--redirect-uri", "https://app.example.com/cb", "--post-logout-redirect-uri", "https://app.example.com/out#x"], "--post-logout-redirect-uri"],
    [["--public", "--client-credentials", "--redirect-uri", "https://app.example.com/cb"], "public clients cannot use client_credentials"],
    [["--redirect-uri", "https://app.example.com/cb", "--minimum-acr", "gold"], "--minimum-acr must be one of password, mfa, passkey or none"],
  ])("refuses %j with exit 1 and a message naming the problem", async (args, message) => {
    const result = await cli(["clients", "create", "--name", "Bad", ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });

  it("exits 2 with usage for unknown commands, unknown flags and a missing --name", async () => {
    for (const args of [
      ["clients", "frobnicate"],
      ["clients", "create", "--nam", "x"],
      ["clients", "create", "--redirect-uri", "https://a.example/cb"],
      ["nonsense"],
    ]) {
      const result = await cli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("Usage: npm run idp");
    }
  });

  it("creates users with a password from stdin and refuses short passwords and duplicates", async () => {
    const created = await cli(["users", "create", "--email", "Bob@Example.com", "--json"], "a long enough password\n");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ email: "bob@example.com", has_password: true });
    const short = await cli(["users", "create", "--email", "carol@example.com"], "short\n");
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("at least 8 characters");
    const duplicate = await cli(["users", "create", "--email", "BOB@example.com"], "another long password\n");
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain("already exists");
    const noPassword = await cli(["users", "create", "--email", "dave@example.com"]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain("pipe the password on stdin");
  });

  it("invites a user and issues a recovery link by mail (dev outbox); refuses what does not fit", async () => {
    const invited = await cli(["users", "invite", "--email", "Erin@Example.com", "--json"]);
    expect(invited.code).toBe(0);
    const { email, expires_at: expiresAt } = JSON.parse(invited.stdout) as { email: string; expires_at: string };
    expect(email).toBe("erin@example.com");
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const mails = readdirSync(join(dataDir, "outbox"));
    expect(mails).toHaveLength(1);
    expect(readFileSync(join(dataDir, "outbox", mails[0] as string), "utf8")).toContain("To: erin@example.com");
    const taken = await cli(["users", "invite", "--email", "bob@example.com"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("already exists");
    const missing = await cli(["users", "invite"]);
    expect(missing.code).toBe(2);

    const recovered = await cli(["users", "recover", "bob@example.com", "--json"]);
    expect(recovered.code).toBe(0);
    // Bob has no code factor: by default his link starts working a day later.
    const issued = JSON.parse(recovered.stdout) as { email: string; works_from: string; expires_at: string };
    expect(issued.email).toBe("bob@example.com");
    expect(Math.round((Date.parse(issued.works_from) - Date.now()) / 3600_000)).toBe(24);
    expect(Date.parse(issued.expires_at)).toBeGreaterThan(Date.parse(issued.works_from));
    const recoveryMail = readdirSync(join(dataDir, "outbox"))
      .map((file) => readFileSync(join(dataDir, "outbox", file), "utf8"))
      .find((text) => text.includes("To: bob@example.com"));
    expect(recoveryMail).toContain("Subject: Recover your");
    const unknown = await cli(["users", "recover", "--email", "nobody@example.com"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no user with email nobody@example.com");
  });

  it("shows, disables, enables, signs out and deletes users", async () => {
    const shown = await cli(["users", "show", "bob@example.com", "--json"]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ email: "bob@example.com", disabled: false, passkeys: 0, totp: false });
    expect((await cli(["users", "disable", "bob@example.com"])).stdout).toContain("Disabled user bob@example.com");
    expect(JSON.parse((await cli(["users", "enable", "bob@example.com", "--json"])).stdout).disabled).toBe(false);
    const revoked = await cli(["sessions", "revoke", "--user", "bob@example.com", "--json"]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ email: "bob@example.com", removed: 0 });
    const missing = await cli(["users", "delete", "nobody@example.com"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no user with id or email "nobody@example.com"');
    const events = JSON.parse((await cli(["events", "list", "--user", "bob@example.com", "--type", "user.", "--json"])).stdout) as { type: string }[];
    expect(events.map((event) => event.type)).toEqual(["user.enabled", "user.disabled"]);
    const badSince = await cli(["events", "list", "--since", "yesterday"]);
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain("--since must be a time");
    expect((await cli(["users", "create", "--email", "frank@example.com", "--no-password"])).code).toBe(0);
    const deleted = await cli(["users", "delete", "frank@example.com"]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain("Deleted user frank@example.com");

    // Every change above is in the audit log, newest first, by the OS account that ran the CLI.
    const audit = JSON.parse((await cli(["events", "audit", "--action", "user.", "--json"])).stdout) as { action: string; actor: string }[];
    expect(audit.map((event) => event.action).slice(0, 6)).toEqual([
      "user.deleted",
      "user.created",
      "user.signed_out",
      "user.enabled",
      "user.disabled",
      // Earlier tests in this file created and invited users too.
      expect.stringMatching(/^user\./),
    ]);
    expect(audit[0]?.actor).toMatch(/^cli:/);
    expect((await cli(["events", "audit", "--limit", "x"])).code).toBe(2);
  });

  it("sets a client's allowed scopes and token lifetimes, and refuses admin for a browser app", async () => {
    const machine = await cli(["clients", "create", "--name", "Ops", "--client-credentials", "--scopes", "admin", "--access-token-ttl", "300", "--json"]);
    expect(machine.stderr).toBe("");
    expect(JSON.parse(machine.stdout)).toMatchObject({ scopes: ["admin"], access_token_ttl: 300, grant_types: ["client_credentials"] });
    const id = JSON.parse(machine.stdout).client_id as string;
    const reset = await cli(["clients", "update", id, "--scopes", "default", "--access-token-ttl", "default", "--json"]);
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

  it("runs commands inside a running server, and a second server on the same DATA_DIR fails clearly", async () => {
    const port = await freePort();
    const server = await startServerProcess({ ...env, PORT: String(port), HOST: "127.0.0.1", ISSUER: `http://127.0.0.1:${port}` });
    try {
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

      // Forwarding needs the configuration, the lock and a socket: not the database or the services.
      const forwarded = await runRecordingModules(["clients", "list", "--json"], env);
      expect(forwarded.code).toBe(0);
      expect(JSON.parse(forwarded.stdout)).toHaveLength(1);
      expect(forwarded.dependencies.sort()).toEqual(["proper-lockfile", "proxy-addr", "zod"]);
      expect(forwarded.sources.filter((path) => !path.startsWith("cli/")).sort()).toEqual([
        "config.ts",
        "db/data-dir-lock.ts",
        "db/process-identity.ts",
        "errors.ts",
        "paths.ts",
      ]);

      const second = await run("src/main.ts", [], { ...env, PORT: String(await freePort()) });
      expect(second.code).not.toBe(0);
      expect(second.stderr).toContain("is in use by another process");
    } finally {
      await server.stop();
    }
    // After the server stops the CLI opens the directory itself again.
    const list = await cli(["clients", "list", "--json"]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(1);
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
      const help = await runRecordingModules(args, unusable);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("Usage: npm run idp");
      expect(help.stderr).toBe("");
      expect(help.dependencies).toEqual([]);
      expect(help.sources.filter((path) => !path.startsWith("cli/") && path !== "errors.ts")).toEqual([]);
    }
  });

  it("names the bad setting when the configuration is invalid", async () => {
    const result = await cli(["clients", "list"], undefined);
    expect(result.code).toBe(0);
    const bad = await run("src/cli/main.ts", ["clients", "list"], { ...env, ISSUER: "http://idp.example.com" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("ISSUER must be an https URL");
    const badServer = await run("src/main.ts", [], { ...env, NODE_ENV: "production", ISSUER: "https://idp.example.com" });
    expect(badServer.code).toBe(78);
    expect(badServer.stderr).toContain("SECRET_KEY (or SECRET_KEY_FILE) is required");
  });
});

describe.skipIf(!process.env.TEST_POSTGRES_URL)("operator CLI on PostgreSQL", () => {
  it("manages clients through DATABASE_URL and stores only the secret's hash", async () => {
    const database = await openTestDatabase("postgres");
    try {
      const env = { DATABASE_URL: database.url as string, DATA_DIR: mkdtempSync(join(tmpdir(), "idp-cli-pg-")) };
      const created = await run("src/cli/main.ts", ["clients", "create", "--name", "PG app", "--redirect-uri", "https://app.example.com/cb", "--json"], env);
      expect(created.code).toBe(0);
      const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
      const row = await database.prisma.client.findUniqueOrThrow({ where: { id: client.client_id } });
      expect(JSON.stringify(row)).not.toContain(client.client_secret);
      const refused = await run("src/cli/main.ts", ["clients", "create", "--name", "x", "--redirect-uri", "https://app.example.com/*"], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("must not contain wildcards");
    } finally {
      await database.close();
    }
  });
});
