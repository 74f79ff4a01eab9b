import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { Context, Middleware } from "koa";
import { AppError } from "../errors.js";
import { jsonProblem, percentEncodedProblem, requestTargetProblem, strictUtf8 } from "./input-text.js";

const refused = (where: string, problem: string) => new AppError("invalid_request", `The request's ${where} ${problem}.`, 400);
// `context`: pages word these two as errors:invalid_request_too_large / _compressed (i18next context); the
// others name a part of the request and its problem, said for developers, in English.
const tooLarge = () => new AppError("invalid_request", "The request body is too large.", 413, { fields: { context: "too_large" } });

/** "64kb" / "1mb" (the config's form) in bytes. */
export function limitInBytes(limit: string): number {
  const match = /^(\d+)(kb|mb)$/.exec(limit);
  if (!match) throw new Error(`not a body limit: ${limit}`);
  return Number(match[1]) * (match[2] === "mb" ? 1024 * 1024 : 1024);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers["content-length"]) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false: destroying an unfinished request would drop the socket before the 413.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * The same request with its body readable again: the parsers after us (ours and oidc-provider's,
 * which reads `req` itself) each consume the stream, so they get these checked bytes instead.
 */
function replayed(req: IncomingMessage, body: Buffer): IncomingMessage {
  const { headers, rawHeaders, trailers, method, url, httpVersion, httpVersionMajor, httpVersionMinor, socket } = req;
  const stream = Readable.from(body.length > 0 ? [body] : [], { objectMode: false });
  const fields = { headers, rawHeaders, trailers, method, url, httpVersion, httpVersionMajor, httpVersionMinor, socket, connection: socket, complete: true };
  return Object.assign(stream, fields) as unknown as IncomingMessage;
}

function hasBody(ctx: Context): boolean {
  return ctx.req.headers["content-length"] !== undefined || ctx.req.headers["transfer-encoding"] !== undefined;
}

/**
 * Hostile input gets a 400 at the edge, before any route or oidc-provider sees it: NUL, bytes
 * that are not UTF-8 and unpaired surrogates in the path, the query, and form or JSON bodies
 * (and JSON nested absurdly deep). Without this a NUL in `state` reached a JSONB column and came
 * back as a 500 with a stack in the log. Form and JSON bodies are read here once, up to the body
 * limit, and handed on unchanged.
 */
export function refuseHostileInput(options: { bodyLimit: string }): Middleware {
  const limit = limitInBytes(options.bodyLimit);
  return async (ctx, next) => {
    const target = requestTargetProblem(ctx.originalUrl);
    if (target) throw refused("address", target);
    const path = percentEncodedProblem(ctx.path, false);
    if (path) throw refused("path", path);
    const query = percentEncodedProblem(ctx.querystring, true);
    if (query) throw refused("query", query);

    const kind = hasBody(ctx) ? ctx.is("urlencoded", "json", "+json") : false;
    if (kind) {
      const encoding = ctx.get("Content-Encoding");
      if (encoding && encoding !== "identity")
        throw new AppError("invalid_request", "Request bodies must not be compressed.", 415, { fields: { context: "compressed" } });
      const body = await readBody(ctx.req, limit);
      const text = strictUtf8(body);
      if (text === null) throw refused("body", "is not UTF-8");
      const problem = kind === "urlencoded" ? percentEncodedProblem(text, true) : jsonProblem(text);
      if (problem) throw refused("body", problem);
      const req = replayed(ctx.req, body);
      ctx.req = req;
      ctx.request.req = req;
      ctx.response.req = req;
    }
    await next();
  };
}
