import Bowser from "bowser";

/** Where a request came from, as people recognise it. */
export interface Device {
  /** "Chrome on Linux"; "Unknown device" when the user agent names nothing we know. */
  name: string;
  /** "desktop", "mobile", "tablet", …; null when unknown. */
  type: string | null;
}

/** Parses a user agent (attacker-controlled text: only what bowser recognises is shown). */
export function deviceOf(userAgent: string | undefined): Device {
  if (!userAgent) return { name: "Unknown device", type: null };
  const parsed = Bowser.parse(userAgent);
  const browser = parsed.browser.name || null;
  const os = parsed.os.name || null;
  const name = browser && os ? `${browser} on ${os}` : (browser ?? os ?? "Unknown device");
  return { name, type: parsed.platform.type ?? null };
}

/** A default passkey name and the device line of security mails ("Chrome on Linux"). */
export function defaultPasskeyName(userAgent: string | undefined): string {
  const { name } = deviceOf(userAgent);
  return name === "Unknown device" ? "Passkey" : name;
}
