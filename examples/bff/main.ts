import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createBff } from "./bff.js";

// `npm run example`: the example app on http://localhost:8080 against the IdP of `npm start`.
// The first run registers it as a client (through the IdP's CLI) and keeps the secret in
// data/example-bff-client.json (owner-only), like any real app keeps its client secret.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const issuer = process.env.ISSUER ?? "http://localhost:3000";
const port = Number(process.env.BFF_PORT ?? 8080);
const baseUrl = process.env.BFF_URL ?? `http://localhost:${port}`;
const clientFile = resolve(ROOT, process.env.DATA_DIR ?? "data", "example-bff-client.json");

interface RegisteredClient {
  client_id: string;
  client_secret: string;
}

async function registeredClient(): Promise<RegisteredClient> {
  if (existsSync(clientFile)) return JSON.parse(readFileSync(clientFile, "utf8")) as RegisteredClient;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "clients",
      "create",
      "--name",
      "Example app (BFF)",
      "--redirect-uri",
      `${baseUrl}/callback`,
      "--post-logout-redirect-uri",
      `${baseUrl}/`,
      "--backchannel-logout-uri",
      `${baseUrl}/backchannel-logout`,
      "--json",
    ],
    { cwd: ROOT },
  );
  const client = JSON.parse(stdout) as RegisteredClient;
  mkdirSync(dirname(clientFile), { recursive: true, mode: 0o700 });
  writeFileSync(clientFile, JSON.stringify({ client_id: client.client_id, client_secret: client.client_secret }), { mode: 0o600 });
  return client;
}

try {
  const client = await registeredClient();
  const { app } = await createBff({ issuer, clientId: client.client_id, clientSecret: client.client_secret, baseUrl });
  app.listen(port, "localhost", () => process.stdout.write(`Example app on ${baseUrl} (IdP ${issuer}, client ${client.client_id})\n`));
} catch (error) {
  process.stderr.write(`The example app could not start: ${(error as Error).message}\nIs the IdP running (npm start in another terminal) at ${issuer}?\n`);
  process.exit(1);
}
