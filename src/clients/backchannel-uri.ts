import { badRequest } from "../errors.js";
import { addressesOf, isSpecialUseAddress } from "../net/special-use-address.js";
import { assertValidRedirectUri } from "./redirect-uri.js";

const SETTING = "--backchannel-logout-uri";

/**
 * A back-channel logout URI follows the redirect-URI rules; with `publicOnly` (production) its host
 * must also be, and resolve only to, public addresses: the server POSTs to it (SSRF).
 * @throws AppError clients.invalid_redirect_uri, clients.private_backchannel_logout_uri,
 *   clients.unresolvable_backchannel_logout_uri
 */
export async function assertValidBackchannelUri(raw: string, options: { publicOnly: boolean }): Promise<string> {
  assertValidRedirectUri(raw, SETTING);
  if (!options.publicOnly) return raw;
  const { hostname } = new URL(raw);
  let addresses: string[];
  try {
    addresses = await addressesOf(hostname);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const problem = `"${raw}": its host ${hostname} could not be resolved (${reason})`;
    throw badRequest("clients.unresolvable_backchannel_logout_uri", `${SETTING} ${problem}`, { setting: SETTING, problem, uri: raw, host: hostname, reason });
  }
  const special = addresses.filter(isSpecialUseAddress);
  if (special.length > 0) {
    const problem = `"${raw}" is on a private, loopback or link-local address (${special.join(", ")}): logout tokens are sent only to public addresses`;
    throw badRequest("clients.private_backchannel_logout_uri", `${SETTING} ${problem}`, {
      setting: SETTING,
      problem,
      uri: raw,
      addresses: special.join(", "),
    });
  }
  return raw;
}
