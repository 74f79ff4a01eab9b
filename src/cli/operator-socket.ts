import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { strictUtf8, textProblem } from "../http/input-text.js";
import type { Logger } from "../logger.js";
import type { CommandIo } from "./io.js";

// Unix domain socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH = 107;
const MAX_REQUEST_BYTES = 1024 * 1024;
const REFUSED_LINGER_MS = 5_000;
/** A server that stopped (SIGSTOP, a debugger, a stuck disk) must not hang the CLI for ever. */
const IDLE_TIMEOUT_MS = 30_000;

type Request = { argv: string[]; stdin: string | null };
type Reply = { stdout: string } | { stderr: string } | { exit: number };

/** Nobody listens on the operator socket (yet, or any more): nothing was sent. */
export class ServerUnreachableError extends Error {
  constructor(path: string, code: string) {
    super(`nothing listens on ${path} (${code})`);
    this.name = "ServerUnreachableError";
  }
}

const line = (reply: Reply) => `${JSON.stringify(reply)}\n`;

/**
 * The request line as a request, or a phrase saying what is wrong with it. Text rules are the
 * HTTP edge's (input-text.ts): PostgreSQL cannot store NUL, and no column holds a lone surrogate.
 */
function parseRequest(bytes: Buffer): Request | string {
  const text = strictUtf8(bytes);
  if (text === null) return "it is not UTF-8";
  let request: Partial<Request> | null;
  try {
    request = JSON.parse(text) as Partial<Request> | null;
  } catch {
    return "it is not JSON";
  }
  if (typeof request !== "object" || request === null || !Array.isArray(request.argv) || !request.argv.every((arg) => typeof arg === "string"))
    return "argv is not a list of strings";
  for (const [index, arg] of request.argv.entries()) {
    const problem = textProblem(arg);
    if (problem) return `argument ${index + 1} ${problem}`;
  }
  const stdin = typeof request.stdin === "string" ? request.stdin : null;
  const stdinProblem = stdin === null ? null : textProblem(stdin);
  if (stdinProblem) return `the input ${stdinProblem}`;
  return { argv: request.argv, stdin };
}

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
    const chunks: Buffer[] = [];
    let received = 0;
    const send = (reply: Reply) => socket.write(line(reply));
    // Answered, then whatever else arrives is dropped until the client has read the answer and gone.
    const refuse = (message: string) => {
      socket.removeAllListeners("data");
      socket.on("data", () => {});
      send({ stderr: `${message}\n` });
      socket.end(line({ exit: 2 }));
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
    };
    socket.on("data", async (chunk: Buffer) => {
      const newline = chunk.indexOf(0x0a);
      received += newline === -1 ? chunk.length : newline;
      if (received > MAX_REQUEST_BYTES) return refuse(`the operator request is larger than ${MAX_REQUEST_BYTES / 1024 / 1024} MB`);
      chunks.push(newline === -1 ? chunk : chunk.subarray(0, newline));
      if (newline === -1) return;
      socket.removeAllListeners("data");
      const request = parseRequest(Buffer.concat(chunks));
      if (typeof request === "string") return refuse(`malformed operator request: ${request}`);
      logger.info({ command: request.argv.slice(0, 2).join(" ") }, "operator command");
      let exit: number;
      try {
        exit = await run(request.argv, {
          stdout: (text) => send({ stdout: text }),
          stderr: (text) => send({ stderr: text }),
          stdin: request.stdin,
        });
      } catch (error) {
        // A command that fails where it should not must cost the operator one answer, never the server.
        logger.error({ err: error }, "operator command failed");
        send({ stderr: "Internal error: the command failed; the server's log has the details.\n" });
        exit = 70;
      }
      socket.end(line({ exit }));
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

/**
 * Runs a command inside the server that owns DATA_DIR; resolves to its exit code.
 * @throws ServerUnreachableError when nothing listens (nothing was sent); Error when the socket is not
 * our server's, or the server goes quiet for `idleTimeoutMs` or hangs up before answering
 */
export function forwardToServer(
  path: string,
  request: Request,
  io: Pick<CommandIo, "stdout" | "stderr">,
  { idleTimeoutMs = IDLE_TIMEOUT_MS } = {},
): Promise<number> {
  assertOwnSocket(path);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let connected = false;
    let failure: Error | null = null;
    let buffer = "";
    let exit: number | null = null;
    socket.setEncoding("utf8");
    socket.setTimeout(idleTimeoutMs, () => {
      failure = new Error(`the server did not answer for ${idleTimeoutMs / 1000} s (is it stopped or overloaded?); the command may or may not have run`);
      socket.destroy();
    });
    socket.on("connect", () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
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
    socket.on("error", (error: NodeJS.ErrnoException) => {
      const code = error.code ?? "";
      if (!connected && (code === "ENOENT" || code === "ECONNREFUSED")) failure = new ServerUnreachableError(path, code);
      // Writing the rest of a request the server already refused: its answer is still to be read.
      else if (exit === null) failure ??= error;
    });
    socket.on("close", () => {
      if (exit !== null) return resolve(exit);
      reject(failure ?? new Error("the server closed the connection before answering"));
    });
  });
}
