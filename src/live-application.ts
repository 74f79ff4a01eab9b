import type { IncomingMessage, ServerResponse } from "node:http";
import type { JWK } from "jose";
import type Provider from "oidc-provider";
import type { Application } from "./app.js";
import type { Logger } from "./logger.js";
import type { KeySet } from "./oidc/signing-keys.js";

const RETRY_AFTER_FAILURE_MS = 5000;

export interface LiveApplicationDependencies {
  build(jwks: JWK[]): Promise<Application>;
  loadKeySet(): Promise<KeySet>;
  now(): Date;
  logger: Logger;
}

/**
 * The application, rebuilt whenever the signing keys change: when a rotation is heard (`refresh`)
 * and when a scheduled change comes due (a key starting to sign or leaving the set), checked on
 * every request against `now`. oidc-provider fixes its keys when a Provider is constructed; a new
 * instance is the way its maintainer gives for new keys. Requests in flight finish on the
 * application they started on; requests arriving during a rebuild wait for it.
 */
export async function createLiveApplication(deps: LiveApplicationDependencies) {
  const initial = await deps.loadKeySet();
  let current = await deps.build(initial.jwks);
  let handler = current.app.callback();
  let nextChangeAt = initial.nextChangeAt;
  let rebuilding: Promise<void> | null = null;
  let again = false;

  async function rebuild(): Promise<void> {
    do {
      again = false;
      try {
        const keySet = await deps.loadKeySet();
        const application = await deps.build(keySet.jwks);
        current = application;
        handler = application.app.callback();
        nextChangeAt = keySet.nextChangeAt;
      } catch (error) {
        deps.logger.error({ err: error }, "could not load the signing keys; serving the previous ones and retrying");
        nextChangeAt = new Date(deps.now().getTime() + RETRY_AFTER_FAILURE_MS);
      }
    } while (again);
    rebuilding = null;
  }

  function refresh(): Promise<void> {
    if (rebuilding) {
      // A change heard during a rebuild may have come after that rebuild read the keys.
      again = true;
      return rebuilding;
    }
    rebuilding = rebuild();
    return rebuilding;
  }

  return {
    get provider(): Provider {
      return current.provider;
    },

    refresh,

    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      if (!rebuilding && nextChangeAt && deps.now() >= nextChangeAt) void refresh();
      if (rebuilding) await rebuilding;
      await handler(req, res);
    },
  };
}
