import { BrowserSession, csrfTokenOf, formActionOf, type PageResponse } from "./browser-session.js";
import { PASSWORD } from "./relying-party.js";
import type { SoftwareAuthenticator } from "./software-authenticator.js";
import type { TestServer } from "./test-server.js";

/** The account pages as a person uses them over HTTP: sign in (password, then a code if asked), post forms. */
export class AccountPage {
  /** When set, sign-in steps use this passkey (usernameless sign-in, "Confirm it's you", second factor). */
  passkey: { authenticator: SoftwareAuthenticator; userId: string } | undefined;
  /** Where signing in ends: the account page, or the console (`/admin`). */
  home = "/account";

  constructor(
    readonly server: TestServer,
    readonly email: string,
    readonly browser = new BrowserSession(),
    /** A second-factor code, when the user has one and a step asks for it. */
    readonly code?: () => Promise<string>,
  ) {}

  /** Drives sign-in pages until the browser is back on the account page. */
  async signInThrough(page: PageResponse): Promise<PageResponse> {
    const { browser, server } = this;
    let current = page;
    for (let step = 0; step < 6; step += 1) {
      if (new URL(current.url).pathname.startsWith(this.home) && !current.location) return current;
      const ceremony = this.passkey && current.text.match(/data-passkey-action="(reverify|second-factor|authenticate)"/)?.[1];
      if (ceremony) {
        current = await this.usePasskey(current, ceremony);
      } else if (current.text.includes('action="/interaction/') && current.text.includes("/login")) {
        const action = new URL(formActionOf(current.text, "/login"), server.issuer).toString();
        current = await browser.follow(
          action,
          server.issuer,
          await browser.postForm(action, { _csrf: csrfTokenOf(current.text), email: this.email, password: PASSWORD }),
        );
      } else if (current.text.includes('/mfa"') && this.code) {
        const action = new URL(formActionOf(current.text, "/mfa"), server.issuer).toString();
        current = await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(current.text), code: await this.code() }));
      } else if (current.text.includes("/passkey/skip")) {
        const action = new URL(formActionOf(current.text, "/passkey/skip"), server.issuer).toString();
        current = await browser.follow(action, server.issuer, await browser.postForm(action, { _csrf: csrfTokenOf(current.text) }));
      } else {
        return current;
      }
    }
    return current;
  }

  /** What passkey.js does on a page: options, an assertion from the authenticator, verify, then where it says. */
  private async usePasskey(page: PageResponse, ceremony: string): Promise<PageResponse> {
    const { browser, server } = this;
    const { authenticator, userId } = this.passkey as NonNullable<AccountPage["passkey"]>;
    const base = page.text.match(/data-base="([^"]+)"/)?.[1] as string;
    const csrf = page.text.match(/data-csrf="([^"]+)"/)?.[1] as string;
    const options = JSON.parse((await browser.postJson(`${server.issuer}${base}/passkey/${ceremony}/options`, csrf, {})).text);
    const ceremonyData = { challenge: options.challenge, origin: server.issuer, rpId: new URL(server.issuer).hostname };
    const verified = await browser.postJson(`${server.issuer}${base}/passkey/${ceremony}/verify`, csrf, authenticator.assertion(ceremonyData, userId));
    const { redirectTo } = JSON.parse(verified.text) as { redirectTo?: string };
    if (!redirectTo) throw new Error(`passkey ${ceremony} failed (${verified.status}): ${verified.text}`);
    return browser.follow(new URL(redirectTo, server.issuer).toString(), server.issuer);
  }

  async open(path = this.home): Promise<PageResponse> {
    return this.signInThrough(await this.browser.follow(`${this.server.issuer}${path}`, this.server.issuer));
  }

  /** Posts a form of `page` (its CSRF token) to `path`. */
  post(page: PageResponse, path: string, fields: Record<string, string> = {}): Promise<PageResponse> {
    return this.browser.postForm(`${this.server.issuer}${path}`, { _csrf: csrfTokenOf(page.text), ...fields });
  }

  /** Posts a change, verifying again first when the account asks for it (as a person would). */
  async postVerified(page: PageResponse, path: string, fields: Record<string, string> = {}): Promise<PageResponse> {
    const first = await this.post(page, path, fields);
    if (first.status !== 303) return first;
    const back = await this.signInThrough(await this.browser.follow(first.location as string, this.server.issuer));
    return this.post(back, path, fields);
  }
}
