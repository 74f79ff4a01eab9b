import { isDeepStrictEqual } from "node:util";
import { errors } from "oidc-provider";
import type { HotPayloadQueries } from "../db/hot-payloads.js";
import type { OidcPayloadRow } from "../db/oidc-payloads.js";
import type { PayloadCache } from "./payload-cache.js";

/** A row about to be written, with the cache generation taken before (see PayloadCache#set). */
export interface Write {
  row: OidcPayloadRow;
  since: number;
}

/** A write a request holds back. */
type HeldWrite = { upsert: Write } | { delete: string };

/** What one oidc-provider request did to interactions and sessions, and the writes it holds. */
interface RequestState {
  /** Rows of sign-in state as the request read them, or last wrote them: what a later save compares with. */
  seen: Map<string, { payload: unknown; expiresAt: Date | null }>;
  /** Of those, the ones it found in the database (not the ones it created, nor deleted since). */
  found: Set<string>;
  writes: HeldWrite[];
  /** Found rows the held writes replace, delete or leave unchanged: they must still exist when those go. */
  guards: Set<string>;
  ended: boolean;
}

const idHashOf = (write: HeldWrite) => ("delete" in write ? write.delete : write.upsert.row.idHash);
const sameSecond = (a: Date | null, b: Date | null) => (a === null || b === null ? a === b : Math.floor(a.getTime() / 1000) === Math.floor(b.getTime() / 1000));

/**
 * One statement for a request's writes in a row: within an oidc-provider request, upserts and
 * deletes wait until the request reads a row one of them concerns, consumes, revokes, or ends
 * (`end`, called before its answer is sent), and then go together (hot-payloads.ts
 * `writePayloads`, all or none). Reads of other rows do not wait for them: nothing a request reads
 * depends on another row it wrote.
 *
 * The interactions and sessions the request found and now replaces, deletes or leaves unchanged
 * are locked in that statement and must still exist, or nothing is written (SessionNotFound): a
 * sign-out (or the other of two resumes of one interaction) that came in between would otherwise
 * be undone (or doubled). oidc-provider also saves the session on every authorization by a
 * signed-in browser, changed or not: an unchanged one is left unwritten (`unchanged`).
 */
export function createRequestWrites(deps: {
  hot: Pick<HotPayloadQueries, "writePayloads">;
  cache: PayloadCache;
  /** Updates the caches for a row just written (`replaced`: it replaced one). */
  written(write: Write, replaced: boolean): Promise<void>;
  /** Evicts a deleted row in this process (the statement told the others). */
  evictHere(idHash: string): void;
}) {
  const states = new WeakMap<object, RequestState>();
  const stateOf = (request: object): RequestState => {
    let state = states.get(request);
    if (!state) {
      state = { seen: new Map(), found: new Set(), writes: [], guards: new Set(), ended: false };
      states.set(request, state);
    }
    return state;
  };
  const guard = (state: RequestState, idHash: string) => {
    if (state.found.has(idHash)) state.guards.add(idHash);
  };

  /**
   * Sends what `request` held back, as one statement, and updates the caches for it.
   * @throws SessionNotFound when a row it depends on ended meanwhile (then nothing was written)
   */
  async function flush(request: object | undefined): Promise<void> {
    const state = request && states.get(request);
    if (!state) return;
    const { writes } = state;
    const guards = [...state.guards];
    state.writes = [];
    state.guards = new Set();
    if (writes.length === 0) return;
    const since = deps.cache.generation;
    const { ok, replaced } = await deps.hot.writePayloads(
      writes.map((write) => ("delete" in write ? { delete: write.delete } : { upsert: write.upsert.row })),
      guards,
    );
    if (!ok) {
      for (const idHash of guards) deps.cache.delete(idHash);
      throw new errors.SessionNotFound("the session or interaction ended while this request ran");
    }
    for (const [i, write] of writes.entries()) {
      if ("delete" in write) deps.evictHere(write.delete);
      else await deps.written({ ...write.upsert, since }, replaced[i] === true);
    }
  }

  return {
    flush,

    /** A read of one row sees what this request wrote to it; other rows' writes keep waiting. */
    async flushFor(request: object | undefined, idHash: string): Promise<void> {
      if (request && states.get(request)?.writes.some((held) => idHashOf(held) === idHash)) await flush(request);
    },

    /** An interaction or session the request read from the database. */
    found(request: object, idHash: string, row: { payload: unknown; expiresAt: Date | null }): void {
      const state = stateOf(request);
      state.seen.set(idHash, { payload: row.payload, expiresAt: row.expiresAt });
      state.found.add(idHash);
    },

    /**
     * True when the request saves an interaction or session exactly as it read or last wrote it:
     * then it is not written, but what the request writes besides still depends on it.
     */
    unchanged(request: object, row: OidcPayloadRow): boolean {
      const state = stateOf(request);
      const seen = state.seen.get(row.idHash);
      if (seen && isDeepStrictEqual(seen.payload, row.payload) && sameSecond(seen.expiresAt, row.expiresAt)) {
        if (!state.ended) guard(state, row.idHash);
        return true;
      }
      state.seen.set(row.idHash, { payload: row.payload, expiresAt: row.expiresAt });
      return false;
    },

    /** Holds a write back for the request's next statement; false once the request has ended (send it now). */
    async hold(request: object, write: HeldWrite): Promise<boolean> {
      const state = stateOf(request);
      if (state.ended) return false;
      // A statement cannot change one row twice: what is held for it goes first.
      if (state.writes.some((held) => idHashOf(held) === idHashOf(write))) await flush(request);
      guard(state, idHashOf(write));
      if ("delete" in write) {
        // A row this request deletes is no longer one it found, nor one to compare with.
        state.found.delete(write.delete);
        state.seen.delete(write.delete);
      }
      state.writes.push(write);
      return true;
    },

    /** A row the request deleted (and sent at once): no longer one it found, nor one to compare with. */
    forget(request: object, idHash: string): void {
      states.get(request)?.found.delete(idHash);
      states.get(request)?.seen.delete(idHash);
    },

    /** oidc-provider has handled the request: what it holds is sent now, later writes as they come. */
    async end(request: object): Promise<void> {
      stateOf(request).ended = true;
      await flush(request);
    },
  };
}
