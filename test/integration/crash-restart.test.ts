import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/free-port.js";
import { type ServerProcess, spawnServer, stopServer, waitUntilStarted } from "../helpers/server-process.js";
import { seededDataDir } from "../helpers/test-database.js";

const ROOT = resolve(import.meta.dirname, "../..");
const NODE = join(ROOT, "node_modules/.bin/node");

// Issue #11 item 9: the embedded database's DATA_DIR lock after the server was killed.
describe("restart on the embedded database", { timeout: 240_000 }, () => {
  const dataDir = seededDataDir("idp-crash-");
  const started: ServerProcess[] = [];
  const start = async () => {
    const port = await freePort();
    const server = spawnServer({ DATA_DIR: dataDir, DATABASE_URL: "", PORT: String(port), HOST: "127.0.0.1" });
    started.push(server);
    return { server, port };
  };

  afterAll(async () => {
    for (const server of started) await stopServer(server, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a second server on a live server's DATA_DIR exits 1; after kill -9 of the first, a new one starts at once", async () => {
    const first = await start();
    await waitUntilStarted(first.server);

    const second = await start();
    expect(await second.server.exited).toBe(1);
    expect(second.server.output()).toContain(`DATA_DIR ${dataDir} is in use by another process`);

    await stopServer(first.server, "SIGKILL");
    const third = await start();
    await waitUntilStarted(third.server);
    expect((await fetch(`http://127.0.0.1:${third.port}/readyz`)).status).toBe(200);
    await stopServer(third.server);
    expect(await third.server.exited).toBe(0);
  });
});

// Red team #12 F1: after a holder's kill -9, processes taking over its lock at once could both win
// (each removed the other's fresh lock file) and both open the database.
describe("the DATA_DIR lock after a holder was killed", { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "idp-lock-race-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  // Says "ready" once loaded; takes the lock on "go" (all contenders at the same instant), says
  // whether it got it, and keeps it until its stdin ends.
  const CONTENDER = `
    import { once } from "node:events";
    import { lockDataDir } from "./src/db/data-dir-lock.ts";
    console.log("ready");
    await once(process.stdin, "data");
    try {
      const release = await lockDataDir(process.env.DATA_DIR, () => console.log("compromised"));
      console.log("acquired");
      process.stdin.on("end", async () => { await release(); process.exit(0); });
    } catch (error) {
      console.log(error.name === "DataDirLockedError" ? "refused" : \`failed: \${error.message}\`);
      process.exit(0);
    }`;
  const contend = () => {
    const child = spawn(NODE, ["--import", "tsx", "--input-type=module", "-e", CONTENDER], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir } });
    let output = "";
    const said = (line: string) =>
      new Promise<void>((done) => {
        const check = () => output.includes(`${line}\n`) && done();
        child.stdout.on("data", check);
        check();
      });
    const lines = () => output.trim().split("\n").slice(1);
    child.stdout.on("data", (chunk) => (output += chunk));
    const answered = new Promise<string>((done) => {
      child.stdout.on("data", () => lines().length > 0 && done(lines()[0] as string));
      child.once("exit", () => done(lines()[0] ?? "exited"));
    });
    return { child, ready: said("ready"), answered, go: () => child.stdin.write("go\n") };
  };

  it("is won by exactly one of 6 processes taking it over at once", async () => {
    const holder = contend();
    await holder.ready;
    holder.go();
    expect(await holder.answered).toBe("acquired");
    holder.child.kill("SIGKILL");
    await new Promise((exited) => holder.child.once("exit", exited));

    const contenders = Array.from({ length: 6 }, contend);
    await Promise.all(contenders.map((contender) => contender.ready));
    for (const contender of contenders) contender.go();
    const answers = await Promise.all(contenders.map((contender) => contender.answered));
    for (const { child } of contenders) child.stdin.end();
    expect(answers.sort()).toEqual(["acquired", "refused", "refused", "refused", "refused", "refused"]);
  });
});
