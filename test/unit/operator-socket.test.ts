import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { forwardToServer, ServerUnreachableError, serveOperatorSocket } from "../../src/cli/operator-socket.js";
import { createLogger } from "../../src/logger.js";
import { listenFake } from "../helpers/fake-operator-socket.js";

/** Sends raw bytes as one request line and collects the reply lines. */
function rawRequest(path: string, bytes: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => socket.end(Buffer.concat([bytes, Buffer.from("\n")])));
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString("utf8")));
    socket.on("error", reject);
    socket.on("close", () => resolve(text.split("\n").filter(Boolean)));
  });
}

describe("operator socket: timeouts, unreachable servers and hostile requests", () => {
  let directory: string;
  let path: string;
  const ran: string[][] = [];
  const io = { stdout: (text: string) => output.push(["stdout", text]), stderr: (text: string) => output.push(["stderr", text]) };
  let output: [string, string][];
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "idp-opsock-"));
    path = join(directory, "operator.sock");
    ran.length = 0;
    output = [];
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  const serve = () =>
    serveOperatorSocket(
      path,
      async (argv, commandIo) => {
        ran.push(argv);
        commandIo.stdout("ran\n");
        return 0;
      },
      createLogger("silent"),
    );

  it("gives up on a server that accepts and never answers, after the idle timeout, saying so", { timeout: 10_000 }, async () => {
    const fake = await listenFake(path);
    try {
      await expect(forwardToServer(path, { argv: ["clients", "list"], stdin: null }, io, { idleTimeoutMs: 200 })).rejects.toThrow(
        "the server did not answer for 0.2 s (is it stopped or overloaded?)",
      );
      expect(fake.received()).toContain('"clients","list"');
    } finally {
      await fake.close();
    }
  });

  it("says nobody listens, as its own error, for a missing socket and for one left by a killed process", async () => {
    const request = { argv: ["clients", "list"], stdin: null };
    await expect(forwardToServer(path, request, io)).rejects.toBeInstanceOf(ServerUnreachableError);
    // A socket file whose listener was killed (kill -9 leaves it behind): ECONNREFUSED.
    const child = spawn(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => { require("node:fs").chmodSync(${JSON.stringify(path)}, 0o600); process.kill(process.pid, "SIGKILL"); })`,
    ]);
    await new Promise((exited) => child.once("exit", exited));
    const refused = forwardToServer(path, request, io);
    await expect(refused).rejects.toBeInstanceOf(ServerUnreachableError);
    await expect(refused).rejects.toThrow("ECONNREFUSED");
  });

  it("answers a command that throws with exit 70 and keeps serving (a failing command must not take the server down)", async () => {
    const server = await serveOperatorSocket(
      path,
      async (argv) => {
        if (argv[0] === "boom") throw new TypeError("own.replace is not a function");
        return 0;
      },
      createLogger("silent"),
    );
    try {
      expect(await forwardToServer(path, { argv: ["boom"], stdin: null }, io)).toBe(70);
      expect(output).toEqual([["stderr", "Internal error: the command failed; the server's log has the details.\n"]]);
      expect(await forwardToServer(path, { argv: ["fine"], stdin: null }, io)).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("answers a request over 1 MB with a usage error the CLI prints, running nothing", async () => {
    const server = await serve();
    try {
      const exit = await forwardToServer(path, { argv: ["users", "create", "--email", "a@example.com"], stdin: "x".repeat(2 * 1024 * 1024) }, io);
      expect(exit).toBe(2);
      expect(output).toEqual([["stderr", "the operator request is larger than 1 MB\n"]]);
      expect(ran).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it.each([
    ["a NUL in an argument", Buffer.from('{"argv":["users","create","--email","a\\u0000@example.com"],"stdin":null}'), "argument 4 contains a NUL character"],
    [
      "a lone surrogate in an argument",
      Buffer.from('{"argv":["clients","create","--name","\\ud800"],"stdin":null}'),
      "argument 4 contains an unpaired surrogate",
    ],
    [
      "a NUL in the input",
      Buffer.from('{"argv":["users","create","--email","a@example.com"],"stdin":"pass\\u0000word"}'),
      "the input contains a NUL character",
    ],
    [
      "bytes that are not UTF-8",
      Buffer.concat([Buffer.from('{"argv":["clients","create","--name","'), Buffer.from([0xc3, 0x28]), Buffer.from('"]}')]),
      "it is not UTF-8",
    ],
    ["an argv that is not strings", Buffer.from('{"argv":["users",1]}'), "argv is not a list of strings"],
    ["a request that is null", Buffer.from("null"), "argv is not a list of strings"],
  ])("refuses %s with a usage error (exit 2) naming it, running nothing and showing no stack", async (_, bytes, problem) => {
    const server = await serve();
    try {
      const replies = await rawRequest(path, bytes);
      expect(replies).toEqual([JSON.stringify({ stderr: `malformed operator request: ${problem}\n` }), JSON.stringify({ exit: 2 })]);
      expect(ran).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
