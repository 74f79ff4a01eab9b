import type { Invalidation } from "../../src/cluster/invalidation-bus.js";
import type { TestServer } from "./test-server.js";

/**
 * Resolves when `server` hears the next change announced to it (by another instance, through
 * PostgreSQL's NOTIFY) that `matches`: an event to wait for instead of a guessed delay.
 */
export function heardAt(server: TestServer, matches: (message: Invalidation) => boolean = () => true): Promise<Invalidation> {
  return new Promise((resolve) => {
    const stop = server.services.invalidations.subscribe((message) => {
      if (!matches(message)) return;
      stop();
      resolve(message);
    });
  });
}
