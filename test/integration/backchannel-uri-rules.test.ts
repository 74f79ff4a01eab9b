import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run-command.js";
import { BrowserSession } from "../helpers/browser-session.js";
import { createUser, registerRelyingParty, signInAndRedeem } from "../helpers/relying-party.js";
import { DATABASE_KINDS } from "../helpers/test-database.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { tokenRequest } from "../helpers/token-requests.js";

const PRIVATE_URIS = [
  "https://10.0.0.1/logout",
  "https://169.254.169.254/latest/meta-data",
  "https://127.0.0.1/logout",
  "https://[::1]/logout",
  // IPv4-mapped IPv6 literals (URL parsing turns them into hex: ::ffff:a9fe:a9fe) and multicast.
  "https://[::ffff:a9fe:a9fe]/latest/meta-data",
  "https://[::ffff:7f00:1]/logout",
  "https://224.0.0.1/logout",
  // A name, refused for what it resolves to.
  "https://localhost/logout",
];

// Issue #11 item 11: the server POSTs logout tokens to these URIs (SSRF).
describe.each(DATABASE_KINDS)("back-channel logout URIs in production (%s)", (kind) => {
  let production: TestServer;
  let adminToken: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    production = await startTestServer(kind, {}, { productionRuntime: true, logLines });
    const admin = await production.services.clients.create({ name: "Operations", redirectUris: [], clientCredentials: true, scopes: ["admin"] });
    const issued = await tokenRequest(
      production.issuer,
      { grant_type: "client_credentials", scope: "admin" },
      { clientId: admin.client_id, clientSecret: admin.client_secret as string },
    );
    adminToken = issued.body.access_token as string;
  });
  afterAll(() => production?.stop());

  const createOverApi = async (backchannelLogoutUri: string) => {
    const response = await fetch(`${production.issuer}/admin/api/clients`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ client_name: "RP", redirect_uris: ["https://app.example.com/cb"], backchannel_logout_uri: backchannelLogoutUri }),
    });
    return { status: response.status, body: (await response.json()) as { error?: string; error_description?: string; backchannel_logout_uri?: string } };
  };

  const createWithCli = async (backchannelLogoutUri: string) => {
    let stderr = "";
    const io = {
      stdout: () => {},
      stderr: (text: string) => {
        stderr += text;
      },
      stdin: null,
    };
    const argv = ["clients", "create", "--name", "RP", "--redirect-uri", "https://app.example.com/cb", "--backchannel-logout-uri", backchannelLogoutUri];
    return { code: await runCommand(argv, io, production.services), stderr };
  };

  it.each(PRIVATE_URIS)("refuses %s through the admin API and the CLI, naming the address", async (uri) => {
    const api = await createOverApi(uri);
    expect(api.status).toBe(400);
    expect(api.body.error_description).toContain(`backchannel_logout_uri "${uri}" is on a private, loopback or link-local address`);

    const cli = await createWithCli(uri);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`--backchannel-logout-uri "${uri}" is on a private, loopback or link-local address`);
  });

  it("refuses it on update too, and accepts a public address", async () => {
    const rp = await production.services.clients.create({ name: "RP", redirectUris: ["https://app.example.com/cb"] });
    await expect(production.services.clients.update(rp.client_id, { backchannelLogoutUri: "https://192.168.1.10/logout" })).rejects.toMatchObject({
      code: "clients.private_backchannel_logout_uri",
    });
    const accepted = await createOverApi("https://93.184.216.34/logout");
    expect(accepted).toMatchObject({ status: 201, body: { backchannel_logout_uri: "https://93.184.216.34/logout" } });
  });

  describe("delivery", () => {
    let listener: Server;
    let connections = 0;
    let development: TestServer;

    beforeAll(async () => {
      listener = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      const port = await freePort();
      await new Promise<void>((resolve) => listener.listen(port, "127.0.0.1", resolve));
      // Accepted under development's rules (or its host's DNS changed since): the row exists.
      development = await startTestServer(kind, {}, { shareWith: production });
    });
    afterAll(async () => {
      await development?.stop();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    });

    it.each(["http://127.0.0.1", "https://[::ffff:7f00:1]"])("to a loopback address (%s) never opens a TCP connection", async (origin) => {
      const port = (listener.address() as { port: number }).port;
      const rp = await registerRelyingParty(production, { firstParty: true });
      await development.services.clients.update(rp.clientId, { backchannelLogoutUri: `${origin}:${port}/logout` });
      const email = `delivery-${origin.replace(/\W/g, "")}@example.com`;
      await createUser(production, email);
      const { tokens } = await signInAndRedeem(production, rp, new BrowserSession(), email);

      await production.services.signOutEverywhere(tokens.claims()?.sub as string);
      await production.services.tasks.drain();
      const failures = logLines.filter((line) => line.includes("back-channel logout delivery failed") && line.includes(rp.clientId));
      expect(failures).toHaveLength(1);
      expect(connections).toBe(0);
      expect(failures[0]).toContain("special-use address: not connecting");
    });
  });
});
