import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import type { Logger } from "../logger.js";
import type { CommandIo } from "./io.js";

// Unix domain socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH = 107;
const MAX_REQUEST_BYTES = 1024 * 1024;

type Request = { argv: string[]; stdin: string | null };
type Reply = { stdout: string } | { stderr: string } | { exit: number };

/**
 * The running server's door for the operator CLI: one JSON request per connection,
 * answered with the command's output and exit code. Only the owner of DATA_DIR can
 * reach it (the socket is 0600 inside a 0700 directory), like PostgreSQL peer auth.
 */
export async function serveOperatorSocket(
  path: string,
  run: (argv: string[], io: CommandIo) => Promise<number>,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  if (path.length > MAX_SOCKET_PATH) throw new Error(`DATA_DIR is too long for the operator socket (${path}); use a shorter path`);
  // A socket file left by a crashed server: we hold the DATA_DIR lock, so it is stale.
  if (existsSync(path)) unlinkSync(path);

  const server = createServer((socket) => {
    let buffer = "";
    socket.setEncoding("utf8");
    const send = (reply: Reply) => socket.write(`${JSON.stringify(reply)}\n`);
    socket.on("data", async (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) return socket.destroy();
      const newline = buffer.indexOf("\n");
      if (newline === -1) return;
      socket.removeAllListeners("data");
      let request: Request;
      try {
        request = JSON.parse(buffer.slice(0, newline)) as Request;
        if (!Array.isArray(request.argv) || !request.argv.every((arg) => typeof arg === "string")) throw new Error("bad argv");
      } catch {
        send({ stderr: "malformed operator request\n" });
        return socket.end(`${JSON.stringify({ exit: 2 })}\n`);
      }
      logger.info({ command: request.argv.slice(0, 2).join(" ") }, "operator command");
      const exit = await run(request.argv, {
        stdout: (text) => send({ stdout: text }),
        stderr: (text) => send({ stderr: text }),
        stdin: typeof request.stdin === "string" ? request.stdin : null,
      });
      socket.end(`${JSON.stringify({ exit })}\n`);
    });
    socket.on("error", () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/**
 * The socket must be the one our server made: a socket (not a symlink to one), ours, 0600. The
 * request may carry a password, and DATA_DIR's own check does not cover what is inside it.
 * A missing socket passes: connecting then fails with ENOENT.
 */
function assertOwnSocket(path: string): void {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  const uid = process.getuid?.();
  if (!stats || uid === undefined) return;
  const refuse = (problem: string) => new Error(`the operator socket ${path} ${problem}: refusing to send the command to it`);
  if (stats.isSymbolicLink()) throw refuse("is a symlink, not the server's socket");
  if (!stats.isSocket()) throw refuse("is not a socket");
  if (stats.uid !== uid) throw refuse(`is owned by uid ${stats.uid}, not by this user (uid ${uid})`);
  if (stats.mode & 0o077) throw refuse(`is open to group or others (mode ${(stats.mode & 0o777).toString(8).padStart(4, "0")})`);
}

/** Runs a command inside the server that owns DATA_DIR; resolves to its exit code. */
export function forwardToServer(path: string, request: Request, io: Pick<CommandIo, "stdout" | "stderr">): Promise<number> {
  assertOwnSocket(path);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = "";
    let exit: number | null = null;
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline !== -1) {
        const reply = JSON.parse(buffer.slice(0, newline)) as Reply;
        buffer = buffer.slice(newline + 1);
        if ("stdout" in reply) io.stdout(reply.stdout);
        else if ("stderr" in reply) io.stderr(reply.stderr);
        else exit = reply.exit;
        newline = buffer.indexOf("\n");
      }
    });
    socket.on("error", reject);
    socket.on("close", () => (exit === null ? reject(new Error("the server closed the connection before answering")) : resolve(exit)));
  });
}
