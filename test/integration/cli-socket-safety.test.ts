import { spawn } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { dataDirHeld, lockDataDir, type ReleaseLock } from "../../src/db/data-dir-lock.js";
import { operatorCli } from "../helpers/cli-process.js";
import { type FakeListener, listenFake } from "../helpers/fake-operator-socket.js";
import { freePort } from "../helpers/free-port.js";
import { spawnServer, stopServer, waitUntilStarted } from "../helpers/server-process.js";
import { seededDataDir } from "../helpers/test-database.js";

const NOBODY = 65534;
// Giving a file to another user takes root; CI runs the suite as root.
const asRoot = process.getuid?.() === 0;
const onCompromised = (error: Error) => {
  throw error;
};
const PASSWORD = "the victim's long password";

/** Whether the server refuses DATA_DIR at start; a server that starts instead is stopped. */
async function serverStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const port = await freePort();
  const server = spawnServer({ ...env, DATABASE_URL: "", PORT: String(port), HOST: "127.0.0.1", ISSUER: `http://127.0.0.1:${port}` });
  try {
    const code = await Promise.race([server.exited, waitUntilStarted(server).then(() => "started" as const)]);
    return { code: code === "started" ? null : code, output: server.output() };
  } finally {
    await stopServer(server);
  }
}

// The red team's set-up: DATA_DIR looks held (a fresh lock), and something else listens where the
// operator socket would be. The CLI must send it nothing, least of all a password.
describe("operator CLI: whose DATA_DIR and socket it trusts", { timeout: 120_000 }, () => {
  let dataDir: string;
  let elsewhere: string;
  let release: ReleaseLock | null;
  let fake: FakeListener | null;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "idp-sock-"));
    elsewhere = mkdtempSync(join(tmpdir(), "idp-sock-other-"));
    release = null;
    fake = null;
  });
  afterEach(async () => {
    await fake?.close();
    await release?.();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });
  const cli = () => operatorCli({ DATA_DIR: dataDir, DATABASE_URL: "" });
  const createUser = () => cli()(["users", "create", "--email", "v@example.com"], `${PASSWORD}\n`);
  const holdWithFake = async (socketPath = join(dataDir, "operator.sock")) => {
    release = await lockDataDir(dataDir, onCompromised);
    fake = await listenFake(socketPath, `${JSON.stringify({ exit: 0 })}\n`);
    return fake;
  };

  it.skipIf(!asRoot)("refuses a DATA_DIR another user owns, before asking for the password; the server refuses it with 78 (needs root)", async () => {
    const listener = await holdWithFake();
    chmodSync(dataDir, 0o777);
    chownSync(dataDir, NOBODY, NOBODY);
    chownSync(join(dataDir, "operator.sock"), NOBODY, NOBODY);
    const result = await createUser();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`Error: DATA_DIR ${dataDir} is owned by uid ${NOBODY}, not by this user (uid 0); run as its owner\n`);
    expect(listener.received()).toBe("");

    await listener.close();
    await release?.();
    release = null;
    const server = await serverStart({ DATA_DIR: dataDir });
    expect(server.code).toBe(78);
    expect(server.output).toContain(`Configuration error: DATA_DIR ${dataDir} is owned by uid ${NOBODY}`);
  });

  it("refuses a DATA_DIR of ours that others can write to (CLI exit 1, server 78), and leaves it as it is", async () => {
    const listener = await holdWithFake();
    chmodSync(dataDir, 0o777);
    const result = await createUser();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`Error: DATA_DIR ${dataDir} is writable by group or others (mode 0777); check its contents, then chmod 700 it\n`);
    expect(listener.received()).toBe("");
    expect(statSync(dataDir).mode & 0o777).toBe(0o777);

    await listener.close();
    await release?.();
    release = null;
    const server = await serverStart({ DATA_DIR: dataDir });
    expect(server.code).toBe(78);
    expect(server.output).toContain(`Configuration error: DATA_DIR ${dataDir} is writable by group or others`);
  });

  it("refuses an operator socket that is a symlink to another socket, and sends it nothing", async () => {
    const listener = await holdWithFake(join(elsewhere, "other.sock"));
    symlinkSync(join(elsewhere, "other.sock"), join(dataDir, "operator.sock"));
    const result = await createUser();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the operator socket ${join(dataDir, "operator.sock")} is a symlink`);
    expect(listener.received()).toBe("");
  });

  it("refuses an operator socket open to others, and sends it nothing", async () => {
    const listener = await holdWithFake();
    chmodSync(join(dataDir, "operator.sock"), 0o666);
    const result = await createUser();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is open to group or others (mode 0666)");
    expect(listener.received()).toBe("");
  });

  it.skipIf(!asRoot)("refuses an operator socket another user owns, and sends it nothing (needs root)", async () => {
    const listener = await holdWithFake();
    chmodSync(join(dataDir, "operator.sock"), 0o600);
    chownSync(join(dataDir, "operator.sock"), NOBODY, NOBODY);
    const result = await createUser();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`is owned by uid ${NOBODY}, not by this user (uid 0)`);
    expect(listener.received()).toBe("");
  });
});

// The DATA_DIR lock held while nobody listens on the socket: another CLI command is running, or a
// server is starting (it locks seconds before its socket listens) or stopping.
describe("operator CLI: a DATA_DIR that is busy", { timeout: 180_000 }, () => {
  const dataDir = seededDataDir("idp-busy-");
  const env = { DATA_DIR: dataDir, DATABASE_URL: "" };
  const cli = operatorCli(env);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const inUse = (directory: string) =>
    `Error: DATA_DIR ${directory} is in use by another process (a CLI command, or a server starting or stopping); try again\n`;

  it("waits a while for a lock nobody answers for (no socket, or one left by a killed process), then says DATA_DIR is in use", async () => {
    const quiet = mkdtempSync(join(tmpdir(), "idp-busy-quiet-"));
    const killed = mkdtempSync(join(tmpdir(), "idp-busy-killed-"));
    const releases = [await lockDataDir(quiet, onCompromised), await lockDataDir(killed, onCompromised)];
    try {
      const socket = join(killed, "operator.sock");
      const child = spawn(process.execPath, [
        "-e",
        `require("node:net").createServer().listen(${JSON.stringify(socket)}, () => { require("node:fs").chmodSync(${JSON.stringify(socket)}, 0o600); process.kill(process.pid, "SIGKILL"); })`,
      ]);
      await new Promise((exited) => child.once("exit", exited));
      const [noSocket, staleSocket] = await Promise.all(
        [quiet, killed].map((directory) => operatorCli({ DATA_DIR: directory, DATABASE_URL: "" })(["clients", "list"])),
      );
      expect(noSocket).toMatchObject({ code: 1, stdout: "", stderr: inUse(quiet) });
      expect(staleSocket).toMatchObject({ code: 1, stdout: "", stderr: inUse(killed) });
    } finally {
      for (const release of releases) await release();
      rmSync(quiet, { recursive: true, force: true });
      rmSync(killed, { recursive: true, force: true });
    }
  });

  it("runs several commands started at once with no server, one after the other", async () => {
    const results = await Promise.all(
      ["One", "Two", "Three"].map((name) => cli(["clients", "create", "--name", name, "--redirect-uri", "https://app.example.com/cb", "--json"])),
    );
    expect(results.map((result) => [result.code, result.stderr])).toEqual([
      [0, ""],
      [0, ""],
      [0, ""],
    ]);
    const names = (JSON.parse((await cli(["clients", "list", "--json"])).stdout) as { client_name: string }[]).map((client) => client.client_name);
    expect(names.sort()).toEqual(["One", "Three", "Two"]);
  });

  it("waits for a server that holds the lock but does not listen yet, then runs the command inside it", async () => {
    const port = await freePort();
    const server = spawnServer({ ...env, PORT: String(port), HOST: "127.0.0.1", ISSUER: `http://127.0.0.1:${port}` });
    try {
      // The server takes the lock seconds before its socket listens: start the command in between.
      await expect.poll(() => dataDirHeld(dataDir), { timeout: 60_000, interval: 20 }).toBe(true);
      const listed = await cli(["clients", "list", "--json"]);
      expect(listed.stderr).toBe("");
      expect(listed.code).toBe(0);
      expect(server.output()).toContain("operator command");
    } finally {
      await stopServer(server);
    }
  });
});
