import Bowser from "bowser";

/** Where a request came from, as people recognise it. */
export interface Device {
  /** "Chrome on Linux"; "Unknown device" when the user agent names nothing we know. */
  name: string;
  /** "desktop", "mobile", "tablet", …; null when unknown. */
  type: string | null;
}

/** The browser and system a user agent names, each null when bowser does not recognise it. */
export function browserAndOs(userAgent: string | undefined): { browser: string | null; os: string | null; type: string | null } {
  if (!userAgent) return { browser: null, os: null, type: null };
  const parsed = Bowser.parse(userAgent);
  return { browser: parsed.browser.name || null, os: parsed.os.name || null, type: parsed.platform.type ?? null };
}

/** Parses a user agent (attacker-controlled text: only what bowser recognises is shown). */
export function deviceOf(userAgent: string | undefined): Device {
  const { browser, os, type } = browserAndOs(userAgent);
  const name = browser && os ? `${browser} on ${os}` : (browser ?? os ?? "Unknown device");
  return { name, type };
}

/** A default passkey name and the device line of security mails ("Chrome on Linux"). */
export function defaultPasskeyName(userAgent: string | undefined): string {
  const { name } = deviceOf(userAgent);
  return name === "Unknown device" ? "Passkey" : name;
}
