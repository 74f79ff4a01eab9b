/** WebAuthn L3 §7.1 step 25 (registration): a credential id longer than 1023 bytes is refused. */
export const MAX_CREDENTIAL_ID_BYTES = 1023;
/** The longest stored id as text: 1023 bytes in base64url without padding. */
export const MAX_CREDENTIAL_ID_LENGTH = Math.ceil((MAX_CREDENTIAL_ID_BYTES * 4) / 3);

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Whether `id` (base64url) is a credential id we could have stored. */
export function isStorableCredentialId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_CREDENTIAL_ID_LENGTH && BASE64URL.test(id);
}
