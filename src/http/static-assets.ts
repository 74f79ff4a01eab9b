import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import Router from "@koa/router";

const TYPES: Record<string, string> = { ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml" };

/** A file made at start (the brand's), with headers of its own. */
export interface GeneratedFile {
  body: Buffer;
  type: string;
  headers?: Record<string, string>;
}

/**
 * Serves the files of views/static, named files from packages (no CDN) and generated ones (the
 * brand's), from memory and by exact name only (no path traversal possible).
 */
export function staticAssets(
  dir: string,
  options: { cache: boolean; packageFiles?: Record<string, string>; generated?: Record<string, GeneratedFile> },
): Router {
  const paths: [string, string][] = [
    ...readdirSync(dir).map((name): [string, string] => [name, join(dir, name)]),
    ...Object.entries(options.packageFiles ?? {}),
  ];
  const files = new Map<string, GeneratedFile>([
    ...paths
      .filter(([name]) => TYPES[extname(name)])
      .map(([name, path]): [string, GeneratedFile] => [name, { body: readFileSync(path), type: TYPES[extname(name)] as string }]),
    ...Object.entries(options.generated ?? {}),
  ]);
  const router = new Router();
  router.get("/static/:name", (ctx) => {
    const file = files.get(ctx.params.name ?? "");
    if (!file) return;
    ctx.type = file.type;
    ctx.set("X-Content-Type-Options", "nosniff");
    for (const [name, value] of Object.entries(file.headers ?? {})) ctx.set(name, value);
    ctx.set("Cache-Control", options.cache ? "public, max-age=3600" : "no-cache");
    ctx.body = file.body;
  });
  return router;
}
