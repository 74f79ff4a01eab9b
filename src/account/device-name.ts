import type { TFunction } from "i18next";
import { browserAndOs } from "../http/user-agent.js";

/** "Chrome on Linux" in the reader's language, for the account page and security mails. */
export function deviceNameOf(t: TFunction, userAgent: string | undefined | null): string {
  const { browser, os } = browserAndOs(userAgent ?? undefined);
  if (browser && os) return t("account:device.browserOnOs", { browser, os });
  return browser ?? os ?? t("account:device.unknown");
}
