import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { badRequest } from "../errors.js";
import { isStorableCredentialId } from "./credential-id.js";

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_FIELD = 16 * 1024;

const malformed = () => badRequest("passkey.malformed_response", "The passkey response was not understood. Try again.");
export const credentialIdTooLong = () =>
  badRequest("passkey.credential_id_too_long", "This passkey's id is longer than WebAuthn allows (1023 bytes). Try another passkey.");

/** The credential's `id` (= `rawId`): base64url, at most 1023 bytes. */
function credentialId(outer: Record<string, unknown>): string {
  const id = base64url(outer.id) as string;
  if (outer.rawId !== id || outer.type !== "public-key") throw malformed();
  if (!isStorableCredentialId(id)) throw credentialIdTooLong();
  return id;
}

function base64url(value: unknown, optional = false): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_FIELD || !BASE64URL.test(value)) throw malformed();
  return value;
}

function object(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformed();
  return value as Record<string, unknown>;
}

/** WebAuthn L3 §7.2 step 10: reject assertions and attestations made inside a cross-origin iframe. */
function assertClientData(clientDataJSON: string, expectedType: string): void {
  let clientData: Record<string, unknown>;
  try {
    clientData = object(JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")));
  } catch {
    throw malformed();
  }
  if (clientData.crossOrigin === true) throw badRequest("passkey.cross_origin", "Passkeys cannot be used from inside another site's frame.");
  if (clientData.type !== expectedType) throw badRequest("passkey.wrong_ceremony", "This passkey response belongs to another kind of request.");
}

/** Checks the shape of a navigator.credentials.get() result (as @simplewebauthn/browser sends it). @throws AppError passkey.* */
export function parseAuthenticationResponse(body: unknown): AuthenticationResponseJSON {
  const outer = object(body);
  const inner = object(outer.response);
  const id = credentialId(outer);
  const clientDataJSON = base64url(inner.clientDataJSON) as string;
  assertClientData(clientDataJSON, "webauthn.get");
  return {
    id,
    rawId: id,
    type: "public-key",
    response: {
      clientDataJSON,
      authenticatorData: base64url(inner.authenticatorData) as string,
      signature: base64url(inner.signature) as string,
      userHandle: base64url(inner.userHandle, true),
    },
    clientExtensionResults: {},
  };
}

/** Checks the shape of a navigator.credentials.create() result. @throws AppError passkey.* */
export function parseRegistrationResponse(body: unknown): RegistrationResponseJSON {
  const outer = object(body);
  const inner = object(outer.response);
  const id = credentialId(outer);
  const clientDataJSON = base64url(inner.clientDataJSON) as string;
  assertClientData(clientDataJSON, "webauthn.create");
  const transports = Array.isArray(inner.transports) ? inner.transports.filter((t): t is string => typeof t === "string" && t.length < 32).slice(0, 8) : [];
  return {
    id,
    rawId: id,
    type: "public-key",
    response: { clientDataJSON, attestationObject: base64url(inner.attestationObject) as string, transports: transports as never },
    clientExtensionResults: {},
  };
}
