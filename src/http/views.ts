import { randomBytes } from "node:crypto";
import { Eta } from "eta";
import type { Context } from "koa";

export interface Views {
  /** Renders a page into the response with a fresh CSP nonce. Eta escapes every `<%= %>`. */
  render(ctx: Context, template: string, data?: Record<string, unknown>, status?: number): void;
  /** Renders to a string (for oidc-provider's own page hooks). */
  renderToString(ctx: Context, template: string, data?: Record<string, unknown>): string;
}

export function createViews(viewsDir: string, options: { cache: boolean }): Views {
  const eta = new Eta({ views: viewsDir, autoEscape: true, cache: options.cache, autoTrim: false });

  function renderToString(ctx: Context, template: string, data: Record<string, unknown> = {}): string {
    const nonce = randomBytes(16).toString("base64");
    // Strict CSP: scripts only with this response's nonce, no inline handlers, no third-party assets.
    ctx.set(
      "Content-Security-Policy",
      `default-src 'none'; script-src 'nonce-${nonce}' 'strict-dynamic'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
    );
    return eta.render(template, { title: "Sign in", ...data, nonce, csrfToken: ctx.state.csrfToken });
  }

  return {
    renderToString,
    render(ctx, template, data, status = 200) {
      const html = renderToString(ctx, template, data);
      ctx.status = status;
      ctx.type = "html";
      ctx.body = html;
    },
  };
}
