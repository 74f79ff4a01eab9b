import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { messages, type QueryOptions, type Results, type Transaction } from "@electric-sql/pglite";
import type { PGliteThreadInit, PGliteThreadReply, PGliteThreadRequest, SerializedError } from "./pglite-thread-protocol.js";

type Request = PGliteThreadRequest extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never;
type ThreadQueryOptions = Pick<QueryOptions, "rowMode" | "parsers">;
type ThreadTransaction = Pick<Transaction, "query" | "exec" | "rollback" | "closed">;

/**
 * A PGlite in a worker thread, with the part of PGlite's interface that pglite-prisma-adapter
 * (query with rowMode and parsers, exec, transaction with rollback) and the hot statements use.
 */
export interface PGliteThread {
  query<T>(sql: string, params?: unknown[], options?: ThreadQueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
  transaction<T>(callback: (tx: ThreadTransaction) => Promise<T>): Promise<T>;
  /** Closes the database (its files are synced) and ends the thread. */
  close(): Promise<void>;
  /** The thread, so that a test can end it. */
  readonly worker: Worker;
}

export interface PGliteThreadOptions extends Omit<PGliteThreadInit, "dump" | "wasmModule"> {
  readonly dump: Blob | undefined;
  /** Called once if the thread ends, once open, other than by close(): every call in flight and later has failed. */
  readonly onExit: (error: Error) => void;
}

// src/db/*.ts runs as TypeScript (Node's type stripping, tsx) and dist/db/*.js after the build.
const WORKER_URL = new URL(`./pglite-thread-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

// The thread's JavaScript is PGlite's glue and a message loop (its database lives in WebAssembly
// memory, outside V8's heap), so a young generation of V8's default size (16 MiB here) only held
// garbage between collections: ≈ 25 MiB of resident memory (bench/README.md, idle memory).
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4 } as const;

function errorOf(serialized: SerializedError): Error {
  if (serialized.kind === "database") {
    // The adapter maps an error to Prisma's codes only if it is pg-protocol's DatabaseError.
    return Object.assign(new messages.DatabaseError(serialized.message, serialized.length, serialized.name as messages.MessageName), serialized.fields);
  }
  return Object.assign(new Error(serialized.message), { name: serialized.name, stack: serialized.stack });
}

// The worker keeps the text of the columns the caller has parsers for; the parsers run here.
function parsed<T>(result: Results<T>, options: ThreadQueryOptions | undefined): Results<T> {
  const parsers = options?.parsers;
  if (!parsers) return result;
  const rows = result.rows as Record<string | number, unknown>[];
  const seen = new Set<string | number>();
  result.fields.forEach((field, index) => {
    // PGlite calls a parser with the column's text and type (its parse.ts), whatever ParserOptions declares.
    const parse = parsers[field.dataTypeID] as ((text: string, typeId: number) => unknown) | undefined;
    const key = options.rowMode === "array" ? index : field.name;
    if (!parse || seen.has(key)) return;
    seen.add(key);
    for (const row of rows) {
      const value = row[key];
      if (value !== null && value !== undefined) row[key] = parse(value as string, field.dataTypeID);
    }
  });
  return result;
}

// PGlite's WebAssembly, compiled once per process: a WebAssembly.Module crosses to a worker as it
// is, so a PGlite thread after the first (each test suite opens one) skips ≈ 1.5 s of CPU.
// A cache of one immutable compilation, as PGlite keeps within one thread.
let compiled: Promise<WebAssembly.Module> | undefined;
function compiledPGlite(): Promise<WebAssembly.Module> {
  const wasm = join(dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite")), "pglite.wasm");
  compiled ??= readFile(wasm).then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}

export async function openPGliteThread(options: PGliteThreadOptions): Promise<PGliteThread> {
  const [dump, wasmModule] = await Promise.all([options.dump ? options.dump.arrayBuffer() : null, compiledPGlite()]);
  const init: PGliteThreadInit = { dataDir: options.dataDir, dump, startParams: options.startParams, wasmModule };
  const worker = new Worker(WORKER_URL, { workerData: init, transferList: dump ? [dump] : [], resourceLimits: RESOURCE_LIMITS });
  const pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let nextTransaction = 1;
  let opened = false;
  let closing = false;
  let failure: Error | null = null;
  let crash: Error | undefined;

  const ready = new Promise<void>((resolve, reject) => {
    worker.on("message", (message: PGliteThreadReply) => {
      if (!("ok" in message)) return resolve();
      const call = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) call?.resolve(message.result);
      else call?.reject(errorOf(message.error));
    });
    worker.on("error", (error) => {
      crash = error;
      reject(error);
    });
    worker.on("exit", (code) => {
      failure = new Error(`the PGlite thread ended (exit code ${code})`, { cause: crash });
      for (const call of pending.values()) call.reject(failure);
      pending.clear();
      reject(failure);
      // Before it was ready, the caller hears of it from openPGliteThread's rejection.
      if (opened && !closing) options.onExit(failure);
    });
  });
  await ready;
  opened = true;

  const call = (request: Request) =>
    new Promise<unknown>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });

  const query = async <T>(tx: number | null, sql: string, params: unknown[] = [], queryOptions?: ThreadQueryOptions) => {
    const rawTypes = queryOptions?.parsers ? Object.keys(queryOptions.parsers).map(Number) : [];
    const result = (await call({ op: "query", tx, sql, params, rowMode: queryOptions?.rowMode, rawTypes })) as Results<T>;
    return parsed(result, queryOptions);
  };
  const exec = async (tx: number | null, sql: string) => (await call({ op: "exec", tx, sql })) as Results[];

  return {
    worker,
    query: (sql, params, queryOptions) => query(null, sql, params, queryOptions),
    exec: (sql) => exec(null, sql),
    async transaction<T>(callback: (tx: ThreadTransaction) => Promise<T>): Promise<T> {
      const id = nextTransaction++;
      await call({ op: "begin", tx: id });
      let closed = false;
      // pglite-prisma-adapter calls rollback() without waiting for it.
      let rollingBack: Promise<unknown> | null = null;
      const assertOpen = () => {
        if (closed) throw new Error("Transaction is closed");
      };
      const tx: ThreadTransaction = {
        query: async (sql, params, queryOptions) => {
          assertOpen();
          return query(id, sql, params, queryOptions);
        },
        exec: async (sql) => {
          assertOpen();
          return exec(id, sql);
        },
        rollback: async () => {
          assertOpen();
          closed = true;
          rollingBack = call({ op: "rollback", tx: id });
          await rollingBack;
        },
        get closed() {
          return closed;
        },
      };
      try {
        const result = await callback(tx);
        if (!closed) {
          closed = true;
          await call({ op: "commit", tx: id });
        }
        await rollingBack;
        return result;
      } catch (error) {
        if (!closed) {
          closed = true;
          await call({ op: "rollback", tx: id });
        }
        throw error;
      }
    },
    async close() {
      if (failure) return;
      closing = true;
      await call({ op: "close" });
      await worker.terminate();
    },
  };
}
