// The messages between the server's thread and the PGlite thread (pglite-thread.ts, pglite-thread-worker.ts).
// Types only: the worker is loaded by Node itself (type stripping, or the build's .js), so it imports no module of ours at run time.

/** What the worker opens, as `workerData`. */
export interface PGliteThreadInit {
  /** The data directory; null keeps the database in memory. */
  readonly dataDir: string | null;
  /** A `dumpDataDir` tar to start the in-memory database from (transferred). */
  readonly dump: ArrayBuffer | null;
  readonly startParams: string[];
  /** PGlite's WebAssembly, compiled in the main thread (pglite-thread.ts). */
  readonly wasmModule: WebAssembly.Module;
}

export type PGliteThreadRequest =
  | { id: number; op: "query"; tx: number | null; sql: string; params: unknown[]; rowMode: "array" | "object" | undefined; rawTypes: number[] }
  | { id: number; op: "exec"; tx: number | null; sql: string }
  | { id: number; op: "begin"; tx: number }
  | { id: number; op: "commit"; tx: number }
  | { id: number; op: "rollback"; tx: number }
  | { id: number; op: "close" };

/** A PostgreSQL error's fields (pg-protocol's DatabaseError), so that it is rebuilt whole on the other side. */
export interface SerializedDatabaseError {
  readonly kind: "database";
  readonly message: string;
  readonly length: number;
  readonly name: string;
  readonly fields: Record<string, string | number | undefined>;
}

export type SerializedError =
  | SerializedDatabaseError
  | { readonly kind: "error"; readonly message: string; readonly name: string; readonly stack: string | undefined };

export type PGliteThreadReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: SerializedError } | { id: 0; ready: true };
