import { chmodSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";

export interface FakeListener {
  /** Everything any client sent, in order. */
  readonly received: () => string;
  /** Resolves at the first connection. */
  readonly connected: Promise<Socket>;
  close(): Promise<void>;
}

/**
 * A listener on a Unix socket standing where the operator socket would be: it records what it is
 * sent and, when `answer` is given, answers each request line with it; otherwise it never answers.
 */
export async function listenFake(path: string, answer?: string): Promise<FakeListener> {
  let received = "";
  const sockets = new Set<Socket>();
  let onConnection: (socket: Socket) => void = () => {};
  const connected = new Promise<Socket>((resolve) => (onConnection = resolve));
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8");
      if (answer !== undefined && received.includes("\n")) socket.end(answer);
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  // As the real server leaves its socket.
  chmodSync(path, 0o600);
  return {
    received: () => received,
    connected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
