import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as oidc from "openid-client";
import { Client } from "undici";
import { expect } from "vitest";
import { BrowserSession, type PageResponse } from "./browser-session.js";
import { operatorCli, type ProcessResult } from "./cli-process.js";
import { freePort } from "./free-port.js";
import { type ServerProcess, spawnServer, stopServer, waitUntilStarted } from "./server-process.js";
import { createPostgresDatabase, type ScratchPostgresDatabase } from "./test-database.js";

export interface LogLine {
  pid: number;
  msg: string;
  reqId?: string;
  [field: string]: unknown;
}

/**
 * The real entry (`src/main.ts`) as a cluster: a primary and WORKERS worker processes sharing one
 * port, on a PostgreSQL database of its own. Which process answered a request is read from the
 * log line the request left (its `reqId`, which the test sends as X-Request-Id, and `pid`).
 */
export class ClusterProcess {
  readonly url: string;
  private readonly pinned = new Map<number, Client>();

  private constructor(
    readonly process: ServerProcess,
    readonly env: Record<string, string>,
    readonly database: ScratchPostgresDatabase,
    private readonly dataDir: string,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** `database: "empty"` leaves it unmigrated (the primary migrates it); default a migrated copy. */
  static async spawn(options: { workers?: number; env?: Record<string, string>; port?: number; database?: "empty" | "migrated" } = {}) {
    const database = await createPostgresDatabase(options.database === "empty" ? {} : { template: process.env.TEST_POSTGRES_TEMPLATE });
    const port = options.port ?? (await freePort());
    const dataDir = mkdtempSync(join(tmpdir(), "idp-cluster-"));
    const env = {
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString("base64url"),
      WORKERS: String(options.workers ?? 2),
      PORT: String(port),
      HOST: "127.0.0.1",
      ISSUER: `http://127.0.0.1:${port}`,
      ...options.env,
    };
    return new ClusterProcess(spawnServer(env), env, database, dataDir, port);
  }

  get primaryPid(): number {
    return this.process.child.pid as number;
  }

  started(): Promise<void> {
    return waitUntilStarted(this.process);
  }

  /** The process's JSON log lines so far (the primary's and every worker's). */
  logs(): LogLine[] {
    return this.process
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as LogLine);
  }

  linesSaying(msg: string): LogLine[] {
    return this.logs().filter((line) => line.msg === msg);
  }

  /** The workers that started and whose process still runs. */
  liveWorkerPids(): number[] {
    return this.linesSaying("worker started")
      .map((line) => line.pid)
      .filter(isRunning);
  }

  /** Which process answered the request sent with this X-Request-Id (once its log line is out). */
  async answeredBy(requestId: string): Promise<number> {
    await expect.poll(() => this.logs().some((line) => line.reqId === requestId && line.msg === "request")).toBe(true);
    return this.logs().find((line) => line.reqId === requestId && line.msg === "request")?.pid as number;
  }

  /** A request on a connection of its own (node:cluster hands each new connection to a worker). */
  async onNewConnection(path: string): Promise<{ status: number; pid: number }> {
    const client = new Client(this.url);
    try {
      const requestId = randomUUID();
      const response = await client.request({ method: "GET", path, headers: { "x-request-id": requestId } });
      await response.body.dump();
      return { status: response.statusCode, pid: await this.answeredBy(requestId) };
    } finally {
      await client.close();
    }
  }

  /** A kept-alive connection that `pid` serves: new connections are opened until one lands there. */
  async connectionTo(pid: number): Promise<Client> {
    const known = this.pinned.get(pid);
    if (known) return known;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      // A connection the server closed (idle) would reconnect to whichever worker comes next.
      const client = new Client(this.url, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
      const requestId = randomUUID();
      const response = await client.request({ method: "GET", path: "/healthz", headers: { "x-request-id": requestId } });
      await response.body.dump();
      const answeredBy = await this.answeredBy(requestId);
      const alreadyPinned = this.pinned.has(answeredBy);
      if (!alreadyPinned) {
        this.pinned.set(answeredBy, client);
        client.once("disconnect", () => this.pinned.get(answeredBy) === client && this.pinned.delete(answeredBy));
      }
      if (answeredBy === pid) return client;
      if (alreadyPinned) await client.close();
    }
    throw new Error(`no connection reached worker ${pid}`);
  }

  /** The operator CLI against the same database and secret (a process of its own, as an operator runs it). */
  cli(args: string[], stdin?: string): Promise<ProcessResult> {
    return operatorCli(this.env)(args, stdin);
  }

  async stop(): Promise<void> {
    for (const client of this.pinned.values()) await client.destroy();
    await stopServer(this.process);
    await this.database.drop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends each request to the next of `pids` in turn, on a connection that worker serves, with an
 * X-Request-Id, and records the hops: what a round-robin balancer in front of two servers does.
 */
export class AlternatingWorkers {
  readonly hops: Array<{ pid: number; requestId: string }> = [];

  constructor(
    private readonly cluster: ClusterProcess,
    private readonly pids: number[],
  ) {}

  async via(init: RequestInit = {}): Promise<RequestInit> {
    const pid = this.pids[this.hops.length % this.pids.length] as number;
    const requestId = randomUUID();
    const dispatcher = await this.cluster.connectionTo(pid);
    this.hops.push({ pid, requestId });
    const headers = new Headers(init.headers);
    headers.set("x-request-id", requestId);
    // `dispatcher`: undici's own option, which Node's fetch honours.
    return { ...init, headers, dispatcher } as RequestInit;
  }

  /** For openid-client's `customFetch`. */
  readonly fetch: oidc.CustomFetch = async (url, options) => fetch(url, await this.via(options as RequestInit));

  /** Which worker did answer each hop, from the log lines. */
  async answered(): Promise<number[]> {
    return Promise.all(this.hops.map((hop) => this.cluster.answeredBy(hop.requestId)));
  }
}

/** A browser behind `AlternatingWorkers`: one cookie jar, every request to the next worker. */
export class AlternatingWorkersBrowser extends BrowserSession {
  constructor(private readonly workers: AlternatingWorkers) {
    super();
  }

  override async request(url: string, init: RequestInit = {}): Promise<PageResponse> {
    return super.request(url, await this.workers.via(init));
  }
}
