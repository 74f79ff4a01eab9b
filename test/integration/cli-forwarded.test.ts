import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorCli, runCliThroughShell } from "../helpers/cli-process.js";
import { freePort } from "../helpers/free-port.js";
import { type ServerProcess, spawnServer, stopServer, waitUntilStarted } from "../helpers/server-process.js";
import { seededDataDir } from "../helpers/test-database.js";

// An operator's usual set-up on the embedded database: the server holds DATA_DIR, and each command is
// forwarded to it over the operator socket (cli-direct.test.ts runs commands on the directory itself).
describe("operator CLI through a running server: users, sessions, events and refusals", { timeout: 180_000 }, () => {
  const dataDir = seededDataDir("idp-cli-");
  const env = { DATA_DIR: dataDir, DATABASE_URL: "" };
  const cli = operatorCli(env);
  let server: ServerProcess;

  beforeAll(async () => {
    const port = await freePort();
    server = spawnServer({ ...env, PORT: String(port), HOST: "127.0.0.1", ISSUER: `http://127.0.0.1:${port}` });
    await waitUntilStarted(server);
  });
  afterAll(async () => {
    if (server) await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
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

  it.each([
    [["--redirect-uri", "https://app.example.com/cb#frag"], "must not contain a fragment"],
    [["--redirect-uri", "https://*.example.com/cb"], "must not contain wildcards"],
    [["--redirect-uri", "http://app.example.com/cb"], "must use https"],
    [["--redirect-uri", "/relative/cb"], "is not an absolute URL"],
    [["--redirect-uri", "https://user@app.example.com/cb"], "must not contain credentials"],
    [["--redirect-uri", "HTTPS://App.Example.com/cb"], "is not in canonical form"],
    [["--redirect-uri", "javascript:alert(1)"], "must use https"],
    [["--redirect-uri", "https://app.example.com/cb", "--post-logout-redirect-uri", "https://app.example.com/out#x"], "--post-logout-redirect-uri"],
    [["--public", "--client-credentials", "--redirect-uri", "https://app.example.com/cb"], "public clients cannot use client_credentials"],
    [["--redirect-uri", "https://app.example.com/cb", "--minimum-acr", "gold"], "--minimum-acr must be one of password, mfa, passkey or none"],
    [["--redirect-uri", "https://app.example.com/cb", "--id-token-alg", "HS256"], '--id-token-alg must be ES256 or RS256, or default (got "HS256")'],
  ])("refuses %j with exit 1 and a message naming the problem", async (args, message) => {
    const result = await cli(["clients", "create", "--name", "Bad", ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });

  it("sets a client's ID token algorithm and shows it (issue #14)", async () => {
    const created = await cli([
      "clients",
      "create",
      "--name",
      "RS256 app",
      "--redirect-uri",
      "https://app.example.com/cb",
      "--id-token-alg",
      "RS256",
      "--json",
    ]);
    expect(created.stderr).toBe("");
    const { client_id: id, id_token_alg: alg } = JSON.parse(created.stdout) as { client_id: string; id_token_alg: string };
    expect(alg).toBe("RS256");
    expect((await cli(["clients", "show", id])).stdout).toContain("id token alg:  RS256");
    expect(JSON.parse((await cli(["clients", "update", id, "--id-token-alg", "default", "--json"])).stdout).id_token_alg).toBeNull();
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

  it("refuses arguments that are not UTF-8 or hold control characters (exit 2, naming the argument), creating nothing", async () => {
    const notUtf8 = await runCliThroughShell(`users create --email "$(printf '\\303\\050@example.com')" --no-password`, env);
    expect(notUtf8).toMatchObject({ code: 2, stdout: "", stderr: "Error: argument 4 is not valid UTF-8\n" });
    const control = await runCliThroughShell(`clients create --name "$(printf 'a\\001b')" --redirect-uri https://app.example.com/cb`, env);
    expect(control).toMatchObject({ code: 2, stdout: "", stderr: "Error: argument 4 contains a control character\n" });
    const shown = await cli(["users", "show", "\ufffd(@example.com"]);
    expect(shown.code).toBe(2);
    const emails = (JSON.parse((await cli(["users", "list", "--json"])).stdout) as { email: string }[]).map((user) => user.email);
    expect(emails.filter((email) => email.includes("(@example.com"))).toEqual([]);
  });

  it("answers a request on the raw socket holding a NUL or a lone surrogate with a usage error, no stack, nothing created", async () => {
    const send = (line: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = createConnection(join(dataDir, "operator.sock"), () => socket.end(`${line}\n`));
        let reply = "";
        socket.on("data", (chunk) => (reply += chunk.toString("utf8")));
        socket.on("error", reject);
        socket.on("close", () => resolve(reply));
      });
    const nul = await send('{"argv":["clients","create","--name","a\\u0000b","--redirect-uri","https://app.example.com/cb"],"stdin":null}');
    expect(nul).toBe(`${JSON.stringify({ stderr: "malformed operator request: argument 4 contains a NUL character\n" })}\n{"exit":2}\n`);
    const surrogate = await send('{"argv":["users","create","--email","\\ud800@example.com","--no-password"],"stdin":null}');
    expect(surrogate).toBe(`${JSON.stringify({ stderr: "malformed operator request: argument 4 contains an unpaired surrogate\n" })}\n{"exit":2}\n`);
    const clients = JSON.parse((await cli(["clients", "list", "--json"])).stdout) as { client_name: string }[];
    expect(clients.map((client) => client.client_name)).not.toContain("a\u0000b");
    const emails = (JSON.parse((await cli(["users", "list", "--json"])).stdout) as { email: string }[]).map((user) => user.email);
    expect(emails.filter((email) => !/^[\x20-\x7e]+$/.test(email))).toEqual([]);
  });
});
