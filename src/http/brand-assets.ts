import { readFileSync } from "node:fs";
import type { Branding } from "../config.js";
import type { GeneratedFile } from "./static-assets.js";

/** What a page shows of the operator's brand: its name, and its logo's address. */
export interface BrandOnPage {
  name: string;
  logo: string | null;
  /** The logo's origin when it is on another site (the page's img-src must allow it). */
  logoOrigin: string | null;
}

export const BRAND_LOGO_PATH = "/static/brand-logo";

/** The brand as pages show it, and the files served for it (read once at start). */
export function brandAssets(branding: Branding) {
  const onPage: BrandOnPage = {
    name: branding.siteName,
    logo: branding.logo ? ("url" in branding.logo ? branding.logo.url : BRAND_LOGO_PATH) : null,
    logoOrigin: branding.logo && "url" in branding.logo ? new URL(branding.logo.url).origin : null,
  };
  // The accent colour is checked at start (#rrggbb), so it cannot end the rule; the operator's CSS follows ours.
  const css = [
    branding.accentColor ? `:root {\n  --accent: ${branding.accentColor};\n}\n` : "",
    branding.extraCss ? readFileSync(branding.extraCss, "utf8") : "",
  ].join("\n");
  const files: Record<string, GeneratedFile> = { "brand.css": { body: Buffer.from(css), type: "text/css; charset=utf-8" } };
  if (branding.logo && "file" in branding.logo) {
    // An SVG opened on its own is a document of this origin: its scripts must not run (an <img> never runs them).
    const headers = { "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox" };
    files["brand-logo"] = { body: readFileSync(branding.logo.file), type: branding.logo.type, headers };
  }
  return { onPage, files };
}
