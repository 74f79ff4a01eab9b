import type * as oidc from "openid-client";
import { BrowserSession, type PageResponse } from "./browser-session.js";
import type { TestServer } from "./test-server.js";

/**
 * A load balancer that sends every HTTP request to the next instance in turn. The instances share
 * one issuer (the first's); each request's origin is rewritten to the instance it goes to, and
 * redirects are rewritten back, so pages, cookies and relying parties only ever see the issuer.
 * Like a real balancer it passes the issuer's host on (`X-Forwarded-Host`: fetch cannot set Host),
 * so the instances must trust one proxy hop (`TRUST_PROXY=1`).
 */
export class RoundRobin {
  /** Which instance (index) answered each request, in order. */
  readonly hops: number[] = [];
  private readonly issuer: URL;

  constructor(private readonly instances: TestServer[]) {
    this.issuer = new URL(instances[0]?.issuer as string);
  }

  /** The URL at the next instance (URLs outside the issuer are left alone). */
  next(url: string): string {
    const target = new URL(url);
    if (target.origin !== this.issuer.origin) return url;
    const index = this.hops.length % this.instances.length;
    this.hops.push(index);
    return new URL(target.pathname + target.search, (this.instances[index] as TestServer).url).toString();
  }

  /** A URL an instance answered with, back under the issuer. */
  back(url: string): string {
    const target = new URL(url);
    const instance = this.instances.find((server) => new URL(server.url).origin === target.origin);
    return instance ? new URL(target.pathname + target.search + target.hash, this.issuer).toString() : url;
  }

  /** The request's headers with the issuer's host, as the balancer forwards them. */
  forwarded(init: RequestInit = {}): RequestInit {
    const headers = new Headers(init.headers);
    headers.set("x-forwarded-host", this.issuer.host);
    return { ...init, headers };
  }

  /** For openid-client's `customFetch`: the relying party's requests go round the instances too. */
  readonly fetch: oidc.CustomFetch = (url, options) => fetch(this.next(url), this.forwarded(options as RequestInit));
}

/** A browser behind the round robin: one cookie jar, every request to the next instance. */
export class RoundRobinBrowser extends BrowserSession {
  constructor(private readonly balancer: RoundRobin) {
    super();
  }

  override async request(url: string, init: RequestInit = {}): Promise<PageResponse> {
    const response = await super.request(this.balancer.next(url), this.balancer.forwarded(init));
    return { ...response, url, location: response.location ? this.balancer.back(response.location) : null };
  }
}
