import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

/** One raw HTTP/1.1 request (fetch cannot send an unparsable target); the status line's code. */
async function rawStatus(server: TestServer, target: string): Promise<number> {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  socket.write(`GET ${target} HTTP/1.1\r\nHost: ${new URL(server.issuer).host}\r\nConnection: close\r\n\r\n`);
  let answer = "";
  for await (const chunk of socket) answer += chunk;
  return Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);
}

// Red-team finding: `GET http://[` got a 500, then its log line threw and ended the process (§34).
describe("request targets that are not a path on this server", () => {
  let server: TestServer;
  const logLines: string[] = [];

  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { logLines });
  });
  afterAll(() => server?.stop());

  it("are answered 400, and the server lives on", async () => {
    for (const target of ["http://[", "http://[::1", "ftp://evil/jwks", "ws://evil/account", "*", "jwks"]) {
      expect({ target, status: await rawStatus(server, target) }).toEqual({ target, status: 400 });
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await rawStatus(server, "/.well-known/openid-configuration")).toBe(200);
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
