import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run-command.js";
import { runEntry } from "../helpers/cli-process.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Issue #15 item 9: the usage of the command that was typed, one exit code per kind of error
// (2 usage, 1 refused), every bad value named in a sentence.
describe("CLI messages", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite");
  });
  afterAll(() => server?.stop());

  async function run(...argv: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runCommand(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), stdin: null }, server.services);
    return { code, stdout, stderr };
  }

  it("clients create without a redirect URI or a name: a usage error (2) with the clients usage only", async () => {
    for (const argv of [
      ["clients", "create", "--name", "App"],
      ["clients", "create", "--redirect-uri", "https://app.example.com/cb"],
    ]) {
      const { code, stderr } = await run(...argv);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^Error: --(redirect-uri|name) is required/);
      expect(stderr).toContain("Usage: npm run idp -- clients create");
      expect(stderr).not.toContain("users invite");
      expect(stderr).not.toContain("events audit");
    }
    // A value that is there but wrong is refused (1), naming it.
    const refused = await run("clients", "create", "--name", "App", "--redirect-uri", "HTTPS://App.example.com/cb");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--redirect-uri");
  });

  it("events list --limit -3 names the flag and the value in a sentence, and the events usage", async () => {
    const ambiguous = await run("events", "list", "--limit", "-3");
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('Error: --limit needs a value, and "-3" reads as a flag (write --limit=-3 if it is the value)');
    expect(ambiguous.stderr).not.toContain("ambiguous");
    expect(ambiguous.stderr).toContain("Usage: npm run idp -- events list");
    expect(ambiguous.stderr).not.toContain("clients create");

    const negative = await run("events", "list", "--limit=-3");
    expect(negative.stderr).toContain('Error: --limit must be a whole number from 1 to 1000 (got "-3")');
    expect((await run("events", "list", "--limit")).stderr).toContain("Error: --limit needs a value");
    expect((await run("events", "list", "--json=yes")).stderr).toContain("Error: --json takes no value");
  });

  it("groups: an unknown command or flag shows the groups usage; an unknown group is refused (1)", async () => {
    const unknown = await run("groups", "explode");
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('Error: unknown command "groups explode"') });
    expect(unknown.stderr).toContain("groups add-member");
    expect(unknown.stderr).not.toContain("clients create");
    expect((await run("groups", "list", "--verbose")).stderr).toContain("Error: unknown flag --verbose");
    const missing = await run("groups", "show", "nobody");
    expect(missing).toMatchObject({ code: 1, stderr: 'Error: no group named "nobody"\n' });
    // An unknown command group still lists everything, also when it is a name every JavaScript object has.
    expect((await run("nonsense")).stderr).toContain("clients create");
    for (const word of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      const answer = await run(word);
      expect(answer, word).toMatchObject({ code: 2, stderr: expect.stringContaining(`Error: unknown command "${word}"`) });
    }
  });
});

describe("CLI exit code for a bad setting", { timeout: 60_000 }, () => {
  it("exits 78 naming the setting, as the server does", async () => {
    const result = await runEntry("src/cli/main.ts", ["users", "list"], { ISSUER: "ftp://id.example.com", DATABASE_URL: "" });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/^Configuration error: ISSUER/);
  });
});
