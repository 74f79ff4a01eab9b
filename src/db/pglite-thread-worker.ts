// The PGlite thread's entry (pglite-thread.ts starts it): PostgreSQL's WebAssembly runs here, so a
// statement never holds the server's event loop. Every request goes to PGlite's own query,
// exec and transaction, in the order it arrived, so PGlite's mutex serialises them as it does
// in one thread: a statement from outside a transaction waits until that transaction ends.
import { parentPort, workerData } from "node:worker_threads";
import { messages, PGlite, type Results, type Transaction } from "@electric-sql/pglite";
import type { PGliteThreadInit, PGliteThreadReply, PGliteThreadRequest, SerializedError } from "./pglite-thread-protocol.js";

// pg-protocol's DatabaseError, whose `code` (23505 …) pglite-prisma-adapter turns into Prisma's P2002 …
const DATABASE_ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
  "query",
] as const;

interface OpenTransaction {
  readonly tx: Transaction;
  end(how: "commit" | "rollback"): void;
  readonly settled: Promise<void>;
}

const port = parentPort;
if (!port) throw new Error("pglite-thread-worker runs as a worker thread");
const init = workerData as PGliteThreadInit;
const options = { startParams: init.startParams, pgliteWasmModule: init.wasmModule };
const pglite = init.dataDir ? new PGlite(init.dataDir, options) : new PGlite({ ...options, loadDataDir: init.dump ? new Blob([init.dump]) : undefined });
const transactions = new Map<number, OpenTransaction>();
// A parser that keeps the column's text: the caller's own parsers (functions do not cross threads) run on its side.
const keepText = (text: string) => text;
const textParsers = new Map<string, Record<number, typeof keepText>>();

function textParsersFor(types: number[]) {
  const key = types.join(",");
  let parsers = textParsers.get(key);
  if (!parsers) {
    parsers = Object.fromEntries(types.map((type) => [type, keepText]));
    textParsers.set(key, parsers);
  }
  return parsers;
}

function transaction(id: number): OpenTransaction {
  const open = transactions.get(id);
  if (!open) throw new Error(`no open transaction ${id}`);
  return open;
}

// PGlite's transaction() holds its mutex until the callback returns, so the callback waits for the caller's commit or rollback.
function begin(id: number): Promise<void> {
  let end: (how: "commit" | "rollback") => void = () => {};
  const ended = new Promise<"commit" | "rollback">((resolve) => {
    end = resolve;
  });
  return new Promise((begun, failed) => {
    const settled: Promise<void> = pglite.transaction(async (tx) => {
      transactions.set(id, { tx, end, settled });
      begun();
      if ((await ended) === "rollback") await tx.rollback();
    });
    // Before `begun`: BEGIN itself failed. After it, the commit or rollback request reports the outcome.
    settled.catch(failed);
  });
}

async function finish(id: number, how: "commit" | "rollback"): Promise<void> {
  const open = transaction(id);
  transactions.delete(id);
  open.end(how);
  await open.settled;
}

const resultOf = <T>({ rows, fields, affectedRows }: Results<T>) => ({ rows, fields, affectedRows });

// Synchronous up to the PGlite call, so that requests queue on PGlite's mutex in their order of arrival.
function handle(request: PGliteThreadRequest): Promise<unknown> {
  switch (request.op) {
    case "query": {
      const target = request.tx === null ? pglite : transaction(request.tx).tx;
      // No parsers option at all when there are none: PGlite then parses with its own table instead of a merged copy of it per query.
      const parsers = request.rawTypes.length > 0 ? textParsersFor(request.rawTypes) : undefined;
      return target.query(request.sql, request.params, { rowMode: request.rowMode, parsers }).then(resultOf);
    }
    case "exec": {
      const target = request.tx === null ? pglite : transaction(request.tx).tx;
      return target.exec(request.sql).then((results) => results.map(resultOf));
    }
    case "begin":
      return begin(request.tx);
    case "commit":
    case "rollback":
      return finish(request.tx, request.op);
    case "close":
      return pglite.close();
  }
}

function serializeError(error: unknown): SerializedError {
  if (error instanceof messages.DatabaseError) {
    const fields = Object.fromEntries(DATABASE_ERROR_FIELDS.map((field) => [field, error[field as keyof typeof error] as string | number | undefined]));
    return { kind: "database", message: error.message, length: error.length, name: error.name, fields };
  }
  const { message, name, stack } = error instanceof Error ? error : new Error(String(error));
  return { kind: "error", message, name, stack };
}

function reply(message: PGliteThreadReply) {
  try {
    port?.postMessage(message);
  } catch (error) {
    // A result structured clone refuses: the caller gets the error rather than waiting forever.
    if ("ok" in message) port?.postMessage({ id: message.id, ok: false, error: serializeError(error) } satisfies PGliteThreadReply);
    else throw error;
  }
}

port.on("message", (request: PGliteThreadRequest) => {
  let pending: Promise<unknown>;
  try {
    pending = handle(request);
  } catch (error) {
    pending = Promise.reject(error);
  }
  pending.then(
    (result) => reply({ id: request.id, ok: true, result }),
    (error: unknown) => reply({ id: request.id, ok: false, error: serializeError(error) }),
  );
});

await pglite.waitReady;
reply({ id: 0, ready: true });
