import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import Router from "@koa/router";

const TYPES: Record<string, string> = { ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml" };

/** Serves the files of views/static from memory, by exact name only (no path traversal possible). */
export function staticAssets(dir: string, options: { cache: boolean }): Router {
  const files = new Map(
    readdirSync(dir)
      .filter((name) => TYPES[extname(name)])
      .map((name) => [name, { body: readFileSync(join(dir, name)), type: TYPES[extname(name)] as string }]),
  );
  const router = new Router();
  router.get("/static/:name", (ctx) => {
    const file = files.get(ctx.params.name ?? "");
    if (!file) return;
    ctx.type = file.type;
    ctx.set("Cache-Control", options.cache ? "public, max-age=3600" : "no-cache");
    ctx.body = file.body;
  });
  return router;
}
