/** What the adapter needs of a stored row. */
export interface CachedPayloadRow {
  kind: string;
  payload: unknown;
  grantId: string | null;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

/**
 * Write-through cache of oidc-provider artifacts by id hash, so the hot reads (the access token
 * and grant behind every userinfo/introspection, the grant behind every refresh) skip the
 * database. Bounded in size and time. Correctness does not rest on it: expiry is checked on
 * every read, consumption is decided by the database's atomic update, and every delete and
 * revocation evicts (in this process at once, in others through the invalidation channel).
 */
export function createPayloadCache(options: { maxEntries: number; ttlSeconds: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  // null records a known absence (see the adapter for which kinds may cache one).
  const entries = new Map<string, { row: CachedPayloadRow | null; until: number }>();
  let enabled = true;
  // Counts evictions. A row read (or written) before an eviction that arrived meanwhile may be the
  // very row evicted, so a fill begun at an older generation is dropped rather than cached. An
  // eviction of one id only concerns fills of that id (under concurrent refresh rotations, each
  // evicts its old token: a global count dropped nearly every fill): `evictedAt` keeps its
  // generation; evictions by predicate, and forgetting `evictedAt` when it grows, concern all.
  let generation = 0;
  let broadEvictionAt = 0;
  const evictedAt = new Map<string, number>();
  const MAX_EVICTIONS_KEPT = 10_000;
  const evictAll = () => {
    generation += 1;
    broadEvictionAt = generation;
    evictedAt.clear();
  };
  const staleSince = (idHash: string, since: number) => since < broadEvictionAt || since < (evictedAt.get(idHash) ?? 0);

  return {
    /** Off while invalidations from other processes cannot be heard; turning off empties it. */
    setEnabled(value: boolean): void {
      enabled = value;
      evictAll();
      if (!value) entries.clear();
    },

    /** Take before reading or writing the database; pass to `set`. */
    get generation() {
      return generation;
    },

    /** The row, null when known to be absent, undefined when unknown. */
    get(idHash: string): CachedPayloadRow | null | undefined {
      const entry = entries.get(idHash);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(idHash);
        return undefined;
      }
      return entry.row;
    },

    set(idHash: string, row: CachedPayloadRow | null, since = generation): void {
      if (!enabled || options.ttlSeconds <= 0 || staleSince(idHash, since)) return;
      entries.delete(idHash);
      // Map keeps insertion order: the first key is the oldest entry.
      if (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(idHash, { row, until: now() + options.ttlSeconds * 1000 });
    },

    delete(idHash: string): void {
      if (evictedAt.size >= MAX_EVICTIONS_KEPT) evictAll();
      generation += 1;
      evictedAt.set(idHash, generation);
      entries.delete(idHash);
    },

    deleteWhere(matches: (row: CachedPayloadRow) => boolean): void {
      evictAll();
      for (const [idHash, entry] of entries) if (entry.row && matches(entry.row)) entries.delete(idHash);
    },

    get size() {
      return entries.size;
    },
  };
}

export type PayloadCache = ReturnType<typeof createPayloadCache>;
