import { z } from "zod";
import { badRequest } from "../errors.js";

// The admin API's request bodies, named like the client views it answers with (OAuth-style snake_case).
// Strict: an unknown field is a mistake worth reporting, not something to drop silently.

const uris = z.array(z.string().max(2000)).max(50);
const seconds = z.number().int().nullable();
// Room for a 32 KiB data-URL logo in base64; the registry holds each field to its own limit.
const presentationUrl = z.string().max(64_000);

export const clientCreateBody = z.strictObject({
  client_name: z.string().max(200),
  redirect_uris: uris.optional(),
  post_logout_redirect_uris: uris.optional(),
  public: z.boolean().optional(),
  client_credentials: z.boolean().optional(),
  first_party: z.boolean().optional(),
  minimum_acr: z.string().max(100).nullable().optional(),
  backchannel_logout_uri: z.string().max(2000).nullable().optional(),
  scopes: z.array(z.string().max(100)).max(50).nullable().optional(),
  access_token_ttl: seconds.optional(),
  refresh_token_ttl: seconds.optional(),
  /** "opaque" | "jwt"; null: back to "opaque". The registry words the refusal of any other value. */
  access_token_format: z.string().max(20).nullable().optional(),
  /** "ES256" | "RS256"; null: back to the server's. The registry words the refusal of any other value. */
  id_token_alg: z.string().max(20).nullable().optional(),
  /** Group names; null or empty: everyone may use the app. */
  allowed_groups: z.array(z.string().max(100)).max(50).nullable().optional(),
  /** RFC 7591 §2 names; null or "" clears one. The registry words the refusal of a bad URL. */
  client_uri: presentationUrl.nullable().optional(),
  logo_uri: presentationUrl.nullable().optional(),
  policy_uri: presentationUrl.nullable().optional(),
  tos_uri: presentationUrl.nullable().optional(),
});

export const clientUpdateBody = clientCreateBody.omit({ public: true, client_credentials: true }).partial();

export const userUpdateBody = z.strictObject({
  name: z.string().max(1000).optional(),
  username: z.string().max(1000).optional(),
  role: z.string().max(40).optional(),
});

export const groupBody = z.strictObject({ name: z.string().max(200) });

/** Any JSON value (the claim service checks its size, depth and text). */
export const claimBody = z.strictObject({ value: z.json() });

export const invitationBody = z.strictObject({ email: z.string().max(254) });

/** Parses a body against a schema, or a 400 naming each problem. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
  throw badRequest("invalid_request", `The request body is not valid: ${problems}`);
}
