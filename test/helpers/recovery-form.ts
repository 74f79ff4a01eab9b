import { BrowserSession, csrfTokenOf, type PageResponse } from "./browser-session.js";
import { authorizationRequest, type RelyingParty } from "./relying-party.js";
import type { TestServer } from "./test-server.js";

/** Opens "Lost your passkey?" from a new browser's sign-in page; `submit` asks for a link for an address. */
export async function openRecoveryForm(
  server: Pick<TestServer, "issuer">,
  rp: RelyingParty,
): Promise<{ browser: BrowserSession; submit(email: string): Promise<PageResponse> }> {
  const browser = new BrowserSession();
  const login = await browser.follow((await authorizationRequest(rp)).url.toString(), server.issuer);
  const recoverPath = login.text.match(/href="(\/interaction\/[^"]+\/recover)"/)?.[1];
  if (!recoverPath) throw new Error("the sign-in page has no recovery link");
  const form = await browser.get(`${server.issuer}${recoverPath}`);
  return { browser, submit: (email) => browser.postForm(`${server.issuer}${recoverPath}`, { _csrf: csrfTokenOf(form.text), email }) };
}
