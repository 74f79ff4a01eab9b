import { type LookupAddress, type LookupOptions, lookup } from "node:dns";
import { isIP } from "node:net";
import { Agent, fetch } from "undici";
import { bareHost, isSpecialUseAddress } from "./special-use-address.js";

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

class SpecialUseAddressError extends Error {
  constructor(host: string, address: string) {
    super(`${host} is or resolves to ${address}, a private, loopback, link-local or other special-use address: not connecting`);
    this.name = "SpecialUseAddressError";
  }
}

// SSRF: the socket connects only to addresses checked here, so neither a private address nor a
// DNS answer that changed since registration (rebinding) ever gets a TCP connection.
function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => isSpecialUseAddress(entry.address));
    if (refused) return callback(new SpecialUseAddressError(hostname, refused.address), []);
    if (options.all) return callback(null, addresses);
    const [first] = addresses as [LookupAddress];
    callback(null, first.address, first.family);
  });
}

/**
 * A fetch for oidc-provider's outgoing requests that refuses special-use addresses before
 * connecting (oidc-provider's own guard checks only once the connection is open).
 */
export function createPublicOnlyFetch(): typeof globalThis.fetch {
  const agent = new Agent({ connect: { lookup: publicOnlyLookup } });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const host = bareHost(url.hostname);
    // An IP literal is connected to without any lookup: check it here.
    if (isIP(host) && isSpecialUseAddress(host)) throw new SpecialUseAddressError(url.hostname, host);
    const { dispatcher: _oidcProviderGuard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
    return fetch(url, { ...(rest as Parameters<typeof fetch>[1]), dispatcher: agent });
  }) as typeof globalThis.fetch;
}
