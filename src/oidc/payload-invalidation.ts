import type { Invalidation } from "../cluster/invalidation-bus.js";
import { idHashFor } from "./adapter-ids.js";
import type { PayloadCache } from "./payload-cache.js";

/** Evicts what a message names; messages about other things (clients, keys) leave the cache alone. */
export function applyInvalidation(cache: PayloadCache, message: Invalidation): void {
  if ("idHash" in message) {
    cache.delete(message.idHash);
  } else if ("grantId" in message) {
    cache.deleteWhere((row) => row.grantId === message.grantId && (!message.kind || row.kind === message.kind));
    if (!message.kind) cache.delete(idHashFor("Grant", message.grantId));
  } else if ("clientId" in message) {
    cache.deleteWhere((row) => (row.payload as { clientId?: string } | null)?.clientId === message.clientId);
  } else if ("accountId" in message) {
    cache.deleteWhere((row) => (row.payload as { accountId?: string } | null)?.accountId === message.accountId);
  }
}

/** What the adapter and the sign-out services call: evicts here at once, then tells the other processes. */
export type Invalidator = (message: Invalidation) => Promise<void>;
