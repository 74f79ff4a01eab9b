import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

const EXECUTABLE = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Debian's Chromium must be installed (.ci/run does it); the e2e suites are skipped without it. */
export const chromiumAvailable = existsSync(EXECUTABLE);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface VirtualAuthenticator {
  id: string;
  /** Puts a discoverable ES256 credential for another site into the authenticator. */
  addCredentialFor(rpId: string, userHandle: string): Promise<void>;
  setUserVerified(verified: boolean): Promise<void>;
  credentialCount(): Promise<number>;
}

/** A CTAP2 platform authenticator with resident keys and user verification (DevTools WebAuthn domain). */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    id: authenticatorId,
    addCredentialFor: async (rpId, userHandle) => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      await cdp.send("WebAuthn.addCredential", {
        authenticatorId,
        credential: {
          credentialId: randomBytes(16).toString("base64"),
          isResidentCredential: true,
          rpId,
          privateKey: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
          userHandle: Buffer.from(userHandle).toString("base64"),
          signCount: 0,
        },
      });
    },
    setUserVerified: async (isUserVerified) => {
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified });
    },
    credentialCount: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials.length,
  };
}
