import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { isSpecialUseIP } from "oidc-provider/lib/helpers/fetch_request.js";

/**
 * Private, loopback, link-local and other special-use addresses: the list oidc-provider's own
 * outgoing-request guard uses, so registration and delivery refuse the same addresses. An
 * IPv4-mapped IPv6 address (`::ffff:7f00:1`, the form URL parsing gives `[::ffff:127.0.0.1]`) is
 * checked as the IPv4 address it reaches (SSRF to loopback or cloud metadata otherwise), and only
 * unicast is allowed (multicast and broadcast are not a relying party).
 */
export function isSpecialUseAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  const parsed = ipaddr.process(address);
  return parsed.range() !== "unicast" || isSpecialUseIP(parsed.toString());
}

/** A URL's host without IPv6 brackets ("[::1]" → "::1"). */
export const bareHost = (hostname: string) => hostname.replace(/^\[(.*)\]$/, "$1");

/**
 * Every address a host stands for: itself for an IP literal, else all that DNS returns.
 * @throws the resolver's error (ENOTFOUND, EAI_AGAIN) when the name does not resolve
 */
export async function addressesOf(hostname: string): Promise<string[]> {
  const host = bareHost(hostname);
  if (isIP(host)) return [host];
  return (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
}
