import type { AdapterPayload } from "oidc-provider";

const MAX_CACHED_CLIENTS = 10_000;

/**
 * Client metadata by id (unknown ids too, as undefined), for `cacheSeconds`. Every change to a
 * client, made in this process or heard from another, `forget`s it; a lookup that overlapped a
 * `forget` may have read the registration just replaced, so it is not kept.
 */
export function createClientCache(options: { cacheSeconds: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { expires: number; metadata: AdapterPayload | undefined }>();
  let enabled = true;
  let generation = 0;

  return {
    /** The cached lookup, or null when it must be read (take `generation` first, for `keep`). */
    get(id: string): { metadata: AdapterPayload | undefined } | null {
      const hit = entries.get(id);
      return hit && hit.expires > now() ? hit : null;
    },

    get generation() {
      return generation;
    },

    keep(id: string, metadata: AdapterPayload | undefined, since: number): void {
      if (!enabled || since !== generation || options.cacheSeconds <= 0) return;
      // The bound keeps floods of random ids from growing memory.
      if (entries.size >= MAX_CACHED_CLIENTS) entries.clear();
      entries.set(id, { expires: now() + options.cacheSeconds * 1000, metadata });
    },

    forget(id: string): void {
      generation += 1;
      entries.delete(id);
    },

    /** Off while changes made elsewhere could go unheard; turning it off or on empties it. */
    setEnabled(value: boolean): void {
      enabled = value;
      generation += 1;
      entries.clear();
    },
  };
}
