import { createClientRegistry } from "./clients/client-registry.js";
import type { Config } from "./config.js";
import type { DerivedKeys } from "./crypto/derived-keys.js";
import { createPasswordHasher } from "./crypto/password.js";
import { createClientQueries } from "./db/clients.js";
import { createOidcPayloadQueries } from "./db/oidc-payloads.js";
import type { Db } from "./db/open-database.js";
import { createSigningKeyQueries } from "./db/signing-keys.js";
import { createUserQueries } from "./db/users.js";
import { createSigningKeyService } from "./oidc/signing-keys.js";
import { createUserService } from "./users/user-service.js";

/** Every service, built from its dependencies; one set per database (the server, the CLI, each test). */
export function createServices(db: Db, config: Config, keys: DerivedKeys) {
  const passwords = createPasswordHasher(config.password);
  return {
    db,
    oidcPayloads: createOidcPayloadQueries(db),
    clients: createClientRegistry(createClientQueries(db), { cacheSeconds: config.caches.clientSeconds }),
    users: createUserService(createUserQueries(db), passwords),
    signingKeys: createSigningKeyService(createSigningKeyQueries(db), {
      dataKey: keys.dataKey,
      // Retired keys stay published at least as long as the ID tokens they signed live.
      graceSeconds: Math.max(config.retiredKeyGraceSeconds, config.ttl.idTokenSeconds),
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
