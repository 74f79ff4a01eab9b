import { CookieJar } from "tough-cookie";

export interface PageResponse {
  status: number;
  headers: Headers;
  location: string | null;
  text: string;
  url: string;
}

/**
 * A minimal browser: a cookie jar, no automatic redirects (tests look at every hop),
 * and form posting with the page's CSRF token.
 */
export class BrowserSession {
  /** Sent as User-Agent on every request when set. */
  userAgent: string | undefined;
  /** Sent as X-Forwarded-For on every request when set (for a server with TRUST_PROXY=true). */
  forwardedFor: string | undefined;
  /** Sent as Accept-Language on every request when set (node's fetch sends "*" otherwise). */
  acceptLanguage: string | undefined;

  /** `jar`: another browser's cookies, e.g. to play a thief who copied them. */
  constructor(readonly jar = new CookieJar()) {}

  async request(url: string, init: RequestInit = {}): Promise<PageResponse> {
    const headers = new Headers(init.headers);
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.set("cookie", cookie);
    if (!headers.has("accept")) headers.set("accept", "text/html");
    if (this.userAgent) headers.set("user-agent", this.userAgent);
    if (this.forwardedFor) headers.set("x-forwarded-for", this.forwardedFor);
    if (this.acceptLanguage) headers.set("accept-language", this.acceptLanguage);
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const setCookie of response.headers.getSetCookie()) await this.jar.setCookie(setCookie, url);
    const location = response.headers.get("location");
    return {
      status: response.status,
      headers: response.headers,
      location: location ? new URL(location, url).toString() : null,
      text: await response.text(),
      url,
    };
  }

  get(url: string): Promise<PageResponse> {
    return this.request(url);
  }

  /** A JSON POST as the pages' script sends it (passkey ceremonies), with the page's CSRF token. */
  postJson(url: string, csrfToken: string, body: unknown): Promise<PageResponse> {
    return this.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrfToken },
      body: JSON.stringify(body),
    });
  }

  postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /**
   * Follows redirects until a page answers, or a redirect leaves the issuer (the RP's callback).
   * Like a browser, it submits oidc-provider's auto-posting form that ends a previous account's
   * session when another account signs in.
   */
  async follow(url: string, issuer: string, first?: PageResponse): Promise<PageResponse> {
    let response = first ?? (await this.get(url));
    for (let hops = 0; hops < 10; hops += 1) {
      if (response.location) {
        if (!response.location.startsWith(issuer)) return response;
        response = await this.get(response.location);
        continue;
      }
      const autoPost = response.text.includes("document.forms[0].submit()") ? response.text.match(/<form method="post" action="([^"]+)"/)?.[1] : undefined;
      if (!autoPost) return response;
      const fields = Object.fromEntries([...response.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      response = await this.postForm(autoPost, fields as Record<string, string>);
    }
    return response;
  }
}

export function csrfTokenOf(html: string): string {
  const match = html.match(/name="_csrf" value="([^"]+)"/);
  if (!match?.[1]) throw new Error("no CSRF token on the page");
  return match[1];
}

export function formActionOf(html: string, pathEnd: string): string {
  const match = [...html.matchAll(/action="([^"]+)"/g)].map((m) => m[1] as string).find((action) => action.endsWith(pathEnd));
  if (!match) throw new Error(`no form posting to …${pathEnd}`);
  return match;
}

/** A page with its per-request values (CSRF tokens, nonces, interaction ids, the typed email) blanked, to compare two answers. */
export function comparablePage(html: string): string {
  return html
    .replace(/name="_csrf" value="[^"]+"/g, "")
    .replace(/data-csrf="[^"]+"/g, "")
    .replace(/nonce="[^"]+"/g, "")
    .replace(/\/interaction\/[^/"]+/g, "/interaction/UID")
    .replace(/value="[^"]*@example.com"/, "");
}
