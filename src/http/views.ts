import { randomBytes } from "node:crypto";
import { Eta } from "eta";
import type { Context } from "koa";
import type { PageText, PageTexts } from "../i18n/page-text.js";
import type { BrandOnPage } from "./brand-assets.js";
import { code, htmlText, SafeHtml, strong } from "./html-text.js";

export interface RenderOptions {
  /** Origins (`https://host[:port]`) this page loads images from besides its own: an app's logo. */
  imageOrigins?: readonly string[];
}

export interface Views {
  /** Renders a page into the response with a fresh CSP nonce. Eta escapes every `<%= %>`. */
  render(ctx: Context, template: string, data?: Record<string, unknown>, status?: number, options?: RenderOptions): void;
  /** Renders to a string (for oidc-provider's own page hooks). */
  renderToString(ctx: Context, template: string, data?: Record<string, unknown>, options?: RenderOptions): string;
  /** The language this request's pages speak (ui_locales, Accept-Language, the default). */
  textOf(ctx: Context): PageText;
}

// Only what URL#origin yields for http(s): a value that could end the directive never reaches the header.
const IMAGE_ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** `img-src`: this site, inline images, and exactly the origins the page needs (not `https:` wholesale). */
function imageSources(origins: readonly string[] = []): string {
  const allowed = [...new Set(origins)].filter((origin) => IMAGE_ORIGIN.test(origin));
  return ["'self'", "data:", ...allowed].join(" ");
}

export function createViews(viewsDir: string, options: { cache: boolean; brand: BrandOnPage; texts: PageTexts }): Views {
  const { brand, texts } = options;
  const eta = new Eta({ views: viewsDir, autoEscape: true, cache: options.cache, autoTrim: false });

  function renderToString(ctx: Context, template: string, data: Record<string, unknown> = {}, options: RenderOptions = {}): string {
    const nonce = randomBytes(16).toString("base64");
    // Strict CSP: scripts only with this response's nonce, no inline handlers, no third-party assets.
    ctx.set(
      "Content-Security-Policy",
      `default-src 'none'; script-src 'nonce-${nonce}' 'strict-dynamic'; style-src 'self'; img-src ${imageSources([...(options.imageOrigins ?? []), ...(brand.logoOrigin ? [brand.logoOrigin] : [])])}; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
    );
    const text = texts.ofRequest(ctx);
    return eta.render(template, {
      title: text.t("common:signIn"),
      ...data,
      brand,
      nonce,
      csrfToken: ctx.state.csrfToken,
      lang: text.language,
      t: text.t,
      // `<%~ it.html.t(...) %>` for a text with markup of its own (src/http/html-text.ts): its values are escaped instead.
      html: { t: (key: string, values?: Record<string, unknown>) => htmlText(text.t, key, values), strong, code },
      time: (date: Date) => new SafeHtml(text.timeElement(date)),
    });
  }

  return {
    renderToString,
    textOf: texts.ofRequest,
    render(ctx, template, data, status = 200, options = {}) {
      const html = renderToString(ctx, template, data, options);
      ctx.status = status;
      ctx.type = "html";
      ctx.body = html;
    },
  };
}
