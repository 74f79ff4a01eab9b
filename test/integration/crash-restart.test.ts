import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/free-port.js";
import { type ServerProcess, spawnServer, stopServer, waitUntilStarted } from "../helpers/server-process.js";
import { seededDataDir } from "../helpers/test-database.js";

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
