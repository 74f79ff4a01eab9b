/**
 * What one server process tells the others sharing its database: which cached rows of oidc-provider
 * artifacts became invalid, that a client's registration changed, that the signing keys changed.
 */
export type Invalidation =
  | { idHash: string }
  | { grantId: string; kind?: string }
  | { clientId: string }
  | { accountId: string }
  | { client: string }
  | { signingKeys: "changed" };

export interface InvalidationChannel {
  publish(message: Invalidation): Promise<void>;
}

export const singleProcessChannel: InvalidationChannel = { publish: async () => {} };

type Handler = (message: Invalidation) => void;

/**
 * Delivers every change to this process's caches at once, and through the channel to the others'.
 * `available` is false while this process may miss the others' messages (its listening connection
 * is down): caches must not serve then, and must assume they missed something once it is back.
 */
export function createInvalidationBus(channel: InvalidationChannel) {
  const handlers = new Set<Handler>();
  const availabilityHandlers = new Set<(available: boolean) => void>();

  const deliver = (message: Invalidation) => {
    for (const handler of handlers) handler(message);
  };

  return {
    /** Returns the unsubscribe function. */
    subscribe(handler: Handler): () => void {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },

    onAvailability(handler: (available: boolean) => void): void {
      availabilityHandlers.add(handler);
    },

    /** Applies here, then tells the other processes. */
    async publish(message: Invalidation): Promise<void> {
      deliver(message);
      await channel.publish(message);
    },

    /** A message another process published (or this one's own, echoed by the channel). */
    receive: deliver,

    setAvailable(available: boolean): void {
      for (const handler of availabilityHandlers) handler(available);
    },
  };
}

export type InvalidationBus = ReturnType<typeof createInvalidationBus>;
