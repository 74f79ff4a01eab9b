import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/open-database.js";
import { openPGliteThread } from "../../src/db/pglite-thread.js";
import { openTestDatabase } from "../helpers/test-database.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const client = (id: string) => ({
  id,
  name: id,
  tokenEndpointAuthMethod: "none",
  redirectUris: ["https://rp.example/cb", "https://rp.example/other"],
  postLogoutRedirectUris: [],
  grantTypes: ["authorization_code"],
});

// Issue #13: PGlite runs PostgreSQL's WebAssembly synchronously, so on the server's thread a
// statement held every request until it ended.
describe("the embedded database in its own thread", () => {
  let server: TestServer;
  const discovery = () => fetch(`${server.issuer}/.well-known/openid-configuration`);

  beforeAll(async () => {
    server = await startTestServer("pglite");
  });
  afterAll(() => server?.stop());

  it("answers HTTP while a statement runs: the answer comes before the statement ends", async () => {
    expect((await discovery()).status).toBe(200);
    const order: string[] = [];
    const statement = server.database.hot.query("slow", "SELECT pg_sleep(4)", []).then(() => order.push("statement"));
    const answer = discovery().then((response) => order.push(`http ${response.status}`));
    await Promise.all([statement, answer]);
    expect(order).toEqual(["http 200", "statement"]);
  });
});

describe("transactions across the thread boundary", () => {
  let database: Database;

  beforeAll(async () => {
    database = await openTestDatabase("pglite");
    await database.prisma.$executeRawUnsafe("CREATE TABLE probe (n integer NOT NULL)");
  });
  afterAll(() => database?.close());

  it("50 concurrent statements wait for an open interactive transaction: nothing leaks in or out", async () => {
    let transactionEnded = false;
    let outside: Promise<{ settledAfterTransaction: boolean; seenRolledBack?: number }[]> = Promise.resolve([]);
    const rolledBack = new Error("roll back");

    const transaction = database.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe("INSERT INTO probe (n) VALUES (-1)");
      // Half through Prisma, half through the hot driver, while this transaction is open.
      outside = Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          if (i % 2 === 0) {
            await database.prisma.$executeRawUnsafe("INSERT INTO probe (n) VALUES ($1)", i);
            return { settledAfterTransaction: transactionEnded };
          }
          const [row] = await database.hot.query<{ seen: number }>("rolled-back", "SELECT count(*)::int AS seen FROM probe WHERE n = -1", []);
          return { settledAfterTransaction: transactionEnded, seenRolledBack: row?.seen };
        }),
      );
      // The thread is busy inside the transaction while the 50 are sent.
      await tx.$executeRawUnsafe("SELECT pg_sleep(0.5)");
      const inside = await tx.$queryRawUnsafe<{ n: number }[]>("SELECT n FROM probe ORDER BY n");
      expect(inside).toEqual([{ n: -1 }]);
      transactionEnded = true;
      throw rolledBack;
    });

    await expect(transaction).rejects.toBe(rolledBack);
    const results = await outside;
    expect(results).toHaveLength(50);
    expect(results.every((result) => result.settledAfterTransaction)).toBe(true);
    expect(results.filter((result) => "seenRolledBack" in result).map((result) => result.seenRolledBack)).toEqual(Array(25).fill(0));
    const rows = await database.hot.query<{ n: number }>("all", "SELECT n FROM probe ORDER BY n", []);
    expect(rows.map((row) => row.n)).toEqual(Array.from({ length: 25 }, (_, i) => i * 2));
  });

  it("commits an interactive transaction as one, with Prisma's types (text arrays, dates) intact", async () => {
    const created = await database.prisma.$transaction(async (tx) => {
      await tx.client.create({ data: client("tx-a") });
      return tx.client.create({ data: client("tx-b") });
    });
    expect(created.redirectUris).toEqual(["https://rp.example/cb", "https://rp.example/other"]);
    expect(created.createdAt).toBeInstanceOf(Date);
    expect((await database.prisma.client.findMany({ where: { id: { in: ["tx-a", "tx-b"] } } })).map((row) => row.id).sort()).toEqual(["tx-a", "tx-b"]);
  });

  it("keeps PostgreSQL's error codes and fields: Prisma's P2002, the driver's 23505", async () => {
    await database.prisma.client.create({ data: client("taken") });
    await expect(database.prisma.client.create({ data: client("taken") })).rejects.toMatchObject({
      code: "P2002",
      meta: { driverAdapterError: { cause: { originalCode: "23505" } } },
    });
    // Inside a transaction too, where it aborts the transaction and nothing of it is kept.
    await expect(
      database.prisma.$transaction(async (tx) => {
        await tx.client.create({ data: client("half") });
        await tx.client.create({ data: client("taken") });
      }),
    ).rejects.toMatchObject({ code: "P2002" });
    expect(await database.prisma.client.findUnique({ where: { id: "half" } })).toBeNull();

    await expect(
      database.hot.query("dup", `INSERT INTO "client" (id, name, token_endpoint_auth_method, updated_at) VALUES ('taken', 'x', 'none', now())`, []),
    ).rejects.toMatchObject({
      code: "23505",
      severity: "ERROR",
      constraint: "client_pkey",
      table: "client",
      detail: "Key (id)=(taken) already exists.",
    });
  });
});

describe("the PGlite thread's life", () => {
  const startParams = PGlite.defaultStartParams;

  it("close() closes the database and ends the thread", async () => {
    const exits: Error[] = [];
    const thread = await openPGliteThread({ dataDir: null, dump: undefined, startParams, onExit: (error) => exits.push(error) });
    expect((await thread.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await thread.close();
    expect(thread.worker.threadId).toBe(-1);
    expect(exits).toEqual([]);
    await expect(thread.query("SELECT 1")).rejects.toThrow("the PGlite thread ended");
  });

  it("a database that cannot open rejects the open with the thread's error, and is not reported as a thread that ended", async () => {
    const exits: Error[] = [];
    const opening = openPGliteThread({ dataDir: "/dev/null/pglite", dump: undefined, startParams, onExit: (error) => exits.push(error) });
    await expect(opening).rejects.toThrow();
    expect(exits).toEqual([]);
  });

  it("a thread that dies fails the statements in flight, an open transaction and every later call, and says so once", async () => {
    const exits: Error[] = [];
    const thread = await openPGliteThread({ dataDir: null, dump: undefined, startParams, onExit: (error) => exits.push(error) });
    let inTransaction: Promise<unknown> = Promise.resolve();
    let callbackStarted = () => {};
    const started = new Promise<void>((resolve) => {
      callbackStarted = resolve;
    });
    const transaction = thread.transaction(async (tx) => {
      inTransaction = tx.query("SELECT pg_sleep(30)");
      callbackStarted();
      return inTransaction;
    });
    const outside = thread.query("SELECT 1");
    await started;
    // The transaction's statement is in flight, the outside one waits for the transaction: end the thread now.
    const settled = Promise.allSettled([inTransaction, transaction, outside]);
    await thread.worker.terminate();
    for (const result of await settled)
      expect(result).toMatchObject({ status: "rejected", reason: { message: expect.stringContaining("the PGlite thread ended") } });
    await expect(thread.query("SELECT 1")).rejects.toThrow("the PGlite thread ended");
    expect(exits).toHaveLength(1);
    await thread.close();
  });
});
