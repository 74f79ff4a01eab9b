import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as oidc from "openid-client";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEntry } from "../helpers/cli-process.js";
import { AlternatingWorkers, AlternatingWorkersBrowser, ClusterProcess, isRunning } from "../helpers/cluster-process.js";
import { freePort } from "../helpers/free-port.js";
import { PASSWORD, RP_CALLBACK, RP_LOGOUT_CALLBACK, signIn } from "../helpers/relying-party.js";

const METRICS_TOKEN = "m".repeat(40);
const basic = (auth: { clientId: string; clientSecret: string }) => `Basic ${Buffer.from(`${auth.clientId}:${auth.clientSecret}`).toString("base64")}`;

// Issue #13 "Both cores": WORKERS=2 on PostgreSQL runs the real entry as a node:cluster primary
// and two worker processes on one port.
describe.skipIf(!process.env.TEST_POSTGRES_URL)("WORKERS=2 on PostgreSQL", { timeout: 180_000 }, () => {
  let cluster: ClusterProcess;

  beforeAll(async () => {
    cluster = await ClusterProcess.spawn({ database: "empty", env: { METRICS_TOKEN } });
    await cluster.started();
  });
  afterAll(() => cluster?.stop());

  const machineClient = async () => {
    const created = await cluster.cli(["clients", "create", "--name", "Machine", "--client-credentials", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    return { clientId: client.client_id, clientSecret: client.client_secret };
  };
  const clientCredentialsAt = async (pid: number, auth: { clientId: string; clientSecret: string }) => {
    const response = await fetch(`${cluster.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(auth) },
      body: "grant_type=client_credentials",
      dispatcher: await cluster.connectionTo(pid),
    } as RequestInit);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const scrapeAt = async (pid: number) => {
    const response = await fetch(`${cluster.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      dispatcher: await cluster.connectionTo(pid),
    } as RequestInit);
    expect(response.status).toBe(200);
    return response.text();
  };
  const query = async (text: string) => {
    const db = new pg.Client({ connectionString: cluster.database.url });
    await db.connect();
    try {
      return (await db.query(text)).rows;
    } finally {
      await db.end();
    }
  };
  const sample = (exposition: string, series: string) => Number(exposition.match(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m"))?.[1] ?? 0);

  it("prepares a fresh database once, in the primary: the migrations and one signing key of each kind", async () => {
    // Each process writes its own lines: a worker's may come after the primary's "started".
    await expect.poll(() => new Set(cluster.linesSaying("worker started").map((line) => line.pid)).size).toBe(2);
    const workers = cluster.linesSaying("worker started").map((line) => line.pid);
    expect(workers).not.toContain(cluster.primaryPid);
    expect(cluster.linesSaying("applied database migrations").map((line) => line.pid)).toEqual([cluster.primaryPid]);
    expect(cluster.linesSaying("created signing keys (ES256, RS256)").map((line) => line.pid)).toEqual([cluster.primaryPid]);
    expect(await query("SELECT alg, count(*)::int AS keys FROM signing_key GROUP BY alg ORDER BY alg")).toEqual([
      { alg: "ES256", keys: 1 },
      { alg: "RS256", keys: 1 },
    ]);
  });

  it("answers on both workers: new connections go to one and the other", async () => {
    const answers = [];
    for (let i = 0; i < 6; i += 1) answers.push(await cluster.onNewConnection("/healthz"));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(new Set(answers.map((answer) => answer.pid))).toEqual(new Set(cluster.liveWorkerPids()));
  });

  it("completes a sign-in whose every request goes to the other worker than the one before", async () => {
    const user = await cluster.cli(["users", "create", "--email", "alice@example.com"], `${PASSWORD}\n`);
    expect(user.code, user.stderr).toBe(0);
    const created = await cluster.cli([
      "clients",
      "create",
      "--name",
      "Alternating RP",
      "--redirect-uri",
      RP_CALLBACK,
      "--post-logout-redirect-uri",
      RP_LOGOUT_CALLBACK,
      "--json",
    ]);
    const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };

    const workers = new AlternatingWorkers(cluster, cluster.liveWorkerPids());
    const config = await oidc.discovery(new URL(cluster.url), client.client_id, undefined, oidc.ClientSecretBasic(client.client_secret), {
      execute: [oidc.allowInsecureRequests],
      [oidc.customFetch]: workers.fetch,
    });
    config[oidc.customFetch] = workers.fetch;
    const rp = { clientId: client.client_id, clientSecret: client.client_secret, config };
    const { callbackUrl, start } = await signIn({ issuer: cluster.url }, rp, new AlternatingWorkersBrowser(workers));
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
    });
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, (tokens.claims() as { sub: string }).sub);
    expect(userinfo.email).toBe("alice@example.com");

    // Password, consent, code, tokens and userinfo: each answered where it was sent, in turn.
    expect(workers.hops.length).toBeGreaterThan(6);
    expect(await workers.answered()).toEqual(workers.hops.map((hop) => hop.pid));
    expect(new Set(workers.hops.map((hop) => hop.pid)).size).toBe(2);
  });

  it("a client secret rotated by the CLI stops working on every worker at once, not when their client caches (10 s) run out", async () => {
    const auth = await machineClient();
    const [first, second] = cluster.liveWorkerPids() as [number, number];
    expect((await clientCredentialsAt(first, auth)).status).toBe(200);
    expect((await clientCredentialsAt(second, auth)).status).toBe(200);

    const rotated = await cluster.cli(["clients", "rotate-secret", auth.clientId, "--json"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const renewed = { ...auth, clientSecret: (JSON.parse(rotated.stdout) as { client_secret: string }).client_secret };
    // The CLI's NOTIFY reaches the workers' listeners within milliseconds; 2 s is far below the cache's 10 s.
    for (const pid of [first, second]) {
      await expect.poll(async () => (await clientCredentialsAt(pid, auth)).status, { timeout: 2_000 }).toBe(401);
      expect((await clientCredentialsAt(pid, renewed)).status).toBe(200);
    }
  });

  it("/metrics reports the whole server, whichever worker answers the scrape", async () => {
    const auth = await machineClient();
    const [first, second] = cluster.liveWorkerPids() as [number, number];
    const grants = 'idp_token_grants_total{grant_type="client_credentials"}';
    const before = sample(await scrapeAt(first), grants);
    for (let i = 0; i < 3; i += 1) expect((await clientCredentialsAt(first, auth)).status).toBe(200);
    for (let i = 0; i < 2; i += 1) expect((await clientCredentialsAt(second, auth)).status).toBe(200);

    expect(sample(await scrapeAt(first), grants)).toBe(before + 5);
    expect(sample(await scrapeAt(second), grants)).toBe(before + 5);
  });

  it("one worker sweeps; a killed worker is replaced while the other answers, and only the sweeper's replacement sweeps after it", async () => {
    const sweepers = () => cluster.linesSaying("this worker sweeps expired data").map((line) => line.pid);
    const [sweeper] = sweepers() as [number];
    expect(sweepers()).toEqual([sweeper]);
    const other = cluster.liveWorkerPids().find((pid) => pid !== sweeper) as number;
    expect(other).toBeDefined();

    const replaceWorker = async (pid: number) => {
      const before = cluster.liveWorkerPids();
      process.kill(pid, "SIGKILL");
      await expect.poll(() => cluster.linesSaying("worker ended; starting a replacement").some((line) => line.workerPid === pid)).toBe(true);
      // The survivor answers while the replacement starts.
      expect((await cluster.onNewConnection("/readyz")).status).toBe(200);
      const newcomers = () => cluster.liveWorkerPids().filter((live) => !before.includes(live));
      await expect.poll(() => newcomers().length, { timeout: 60_000 }).toBe(1);
      return newcomers()[0] as number;
    };

    // An expired row that only a sweep removes; the sweeper sweeps as it takes the order, then every 300 s.
    await query("INSERT INTO oidc_payload (id_hash, kind, payload, expires_at) VALUES ('expired-probe', 'AccessToken', '{}', now() - interval '1 hour')");
    const probeLeft = async () => (await query("SELECT id_hash FROM oidc_payload WHERE id_hash = 'expired-probe'")).length;

    await replaceWorker(other);
    expect(sweepers()).toEqual([sweeper]);
    expect(await probeLeft()).toBe(1);

    const replacement = await replaceWorker(sweeper);
    await expect.poll(probeLeft).toBe(0);
    // The sweep logs once all its deletes are done, after the probe's: its line may follow the row's absence.
    await expect.poll(() => cluster.linesSaying("swept expired data").map((line) => [line.pid, line.expiredRows])).toEqual([[replacement, 1]]);
    await expect.poll(() => sweepers().length).toBe(2);
    expect(sweepers()[0]).toBe(sweeper);
    expect(sweepers()[1]).not.toBe(sweeper);
    expect(cluster.liveWorkerPids()).toContain(sweepers()[1]);
    expect(replacement).toBe(sweepers()[1]);
    expect(sweepers().filter(isRunning)).toHaveLength(1);

    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await cluster.onNewConnection("/healthz"));
    expect(new Set(answers.map((answer) => answer.pid))).toEqual(new Set(cluster.liveWorkerPids()));
  });

  // Last: it stops the cluster.
  it("SIGTERM to the primary lets an in-flight request finish, ends every worker and exits 0", async () => {
    const auth = await machineClient();
    const workers = cluster.liveWorkerPids();
    const body = "grant_type=client_credentials";
    // A request whose body is still on its way: in flight at a worker until the rest arrives.
    const pending = request(`${cluster.url}/token`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": body.length, authorization: basic(auth) },
    });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      pending.on("response", (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode as number, text }));
      });
      pending.on("error", reject);
    });
    pending.write(body.slice(0, 10));
    const inFlight = async () => {
      const response = await fetch(`${cluster.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      return sample(await response.text(), "idp_requests_in_flight");
    };
    await expect.poll(inFlight).toBe(1);

    cluster.process.child.kill("SIGTERM");
    await expect.poll(() => cluster.linesSaying("worker shutting down").length).toBe(2);
    pending.end(body.slice(10));
    expect((await answered).status).toBe(200);

    expect(await cluster.process.exited).toBe(0);
    expect(workers.filter(isRunning)).toEqual([]);
  });
});

describe.skipIf(!process.env.TEST_POSTGRES_URL)("WORKERS=1 on PostgreSQL", { timeout: 120_000 }, () => {
  it("is the single-process server: no primary, no workers, one process that serves", async () => {
    const single = await ClusterProcess.spawn({ workers: 1 });
    try {
      await single.started();
      expect(single.linesSaying("identity provider started").map((line) => line.pid)).toEqual([single.primaryPid]);
      expect(single.linesSaying("worker started")).toEqual([]);
      expect(await single.onNewConnection("/healthz")).toEqual({ status: 200, pid: single.primaryPid });
    } finally {
      await single.stop();
    }
    expect(await single.process.exited).toBe(0);
  });
});

describe.skipIf(!process.env.TEST_POSTGRES_URL)("WORKERS=2 when workers cannot start", { timeout: 120_000 }, () => {
  it("stops the whole server with exit 1 once workers keep ending before they listen", async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    const cluster = await ClusterProcess.spawn({ port });
    try {
      expect(await cluster.process.exited).toBe(1);
      expect(cluster.linesSaying("worker ended; starting a replacement")).toHaveLength(2);
      expect(cluster.linesSaying("workers keep ending before they listen; stopping")).toHaveLength(1);
      expect(cluster.process.output()).toContain("EADDRINUSE");
      expect(cluster.linesSaying("identity provider started")).toEqual([]);
    } finally {
      await cluster.stop();
      squatter.close();
    }
  });
});

describe("WORKERS refused at start", { timeout: 120_000 }, () => {
  it.each([
    [{ WORKERS: "2", DATABASE_URL: "" }, "WORKERS must be 1 with the embedded database"],
    [{ WORKERS: "0", DATABASE_URL: "postgres://idp@127.0.0.1:1/idp" }, 'WORKERS must be a whole number from 1 to 32 (got "0")'],
    [{ WORKERS: "abc", DATABASE_URL: "postgres://idp@127.0.0.1:1/idp" }, 'WORKERS must be a whole number from 1 to 32 (got "abc")'],
    [{ WORKERS: "-1", DATABASE_URL: "postgres://idp@127.0.0.1:1/idp" }, 'WORKERS must be a whole number from 1 to 32 (got "-1")'],
  ])("%j exits 78 naming WORKERS", async (env, message) => {
    const dataDir = mkdtempSync(join(tmpdir(), "idp-workers-"));
    const result = await runEntry("src/main.ts", [], { ...env, DATA_DIR: dataDir, PORT: "0" });
    rmSync(dataDir, { recursive: true, force: true });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`Configuration error: ${message}`);
  });
});
