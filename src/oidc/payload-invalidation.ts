import { idHashFor } from "./adapter-ids.js";
import type { PayloadCache } from "./payload-cache.js";

/** What became invalid: one artifact, everything under a grant (of one model or all), or all of a client's. */
export type Invalidation = { idHash: string } | { grantId: string; kind?: string } | { clientId: string } | { accountId: string };

export interface InvalidationChannel {
  publish(message: Invalidation): Promise<void>;
}

export function applyInvalidation(cache: PayloadCache, message: Invalidation): void {
  if ("idHash" in message) {
    cache.delete(message.idHash);
  } else if ("grantId" in message) {
    cache.deleteWhere((row) => row.grantId === message.grantId && (!message.kind || row.kind === message.kind));
    if (!message.kind) cache.delete(idHashFor("Grant", message.grantId));
  } else if ("clientId" in message) {
    cache.deleteWhere((row) => (row.payload as { clientId?: string } | null)?.clientId === message.clientId);
  } else {
    cache.deleteWhere((row) => (row.payload as { accountId?: string } | null)?.accountId === message.accountId);
  }
}

/** Evicts here at once, then tells the other processes (a no-op channel when there are none). */
export function createInvalidator(cache: PayloadCache, channel: InvalidationChannel) {
  return async (message: Invalidation): Promise<void> => {
    applyInvalidation(cache, message);
    await channel.publish(message);
  };
}

export type Invalidator = ReturnType<typeof createInvalidator>;

export const singleProcessChannel: InvalidationChannel = { publish: async () => {} };
