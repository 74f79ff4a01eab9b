import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";

/** Authenticator-data flags (WebAuthn L3 §6.1). */
export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

/** An ES256 public key as COSE_Key (RFC 9053), the form authenticators report and servers store. */
export function coseEs256Key(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  return Buffer.from(
    isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, "base64url")],
        [-3, Buffer.from(jwk.y as string, "base64url")],
      ]),
    ),
  );
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest();
const b64url = (data: Buffer | Uint8Array) => Buffer.from(data).toString("base64url");

export interface Ceremony {
  challenge: string;
  origin: string;
  rpId: string;
}

/**
 * The attestation statement a registration carries: `none`; `packed` self attestation (signed with
 * the credential's own key); or `packed` full attestation, signed with the key of `x5c[0]` (DER
 * certificates, leaf first) — WebAuthn L3 §8.2.
 */
export type Attestation = { fmt: "none" } | { fmt: "packed"; self: true } | { fmt: "packed"; x5c: Buffer[]; signingKey: KeyObject };

export interface AssertionOverrides {
  type?: string;
  origin?: string;
  rpId?: string;
  flags?: number;
  signCount?: number;
  userHandle?: string | null;
  crossOrigin?: boolean;
  /** Adds a field to the client data after signing (a tampered response). */
  tamper?: boolean;
}

/**
 * A software ES256 authenticator that produces real WebAuthn responses, so the server's checks can
 * be exercised one field at a time over HTTP (Chromium's virtual authenticator only makes valid ones).
 */
export class SoftwareAuthenticator {
  readonly credentialId: Buffer;
  /** The AAGUID its attestation names (all zero, as with "none" attestation, unless set). */
  aaguid = Buffer.alloc(16);
  private readonly keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  signCount = 0;

  /** `credentialIdBytes`: real authenticators use 16 to 64; WebAuthn allows up to 1023. */
  constructor(
    private readonly defaultFlags = FLAGS.UP | FLAGS.UV,
    credentialIdBytes = 16,
  ) {
    this.credentialId = randomBytes(credentialIdBytes);
  }

  /** The public key as a server stores it (COSE), to seed a credential without a registration ceremony. */
  publicKeyCose(): Buffer {
    return coseEs256Key(this.keys.publicKey);
  }

  private authData(rpId: string, flags: number, signCount: number, attested = false): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(signCount);
    const parts: Buffer[] = [sha256(rpId), Buffer.from([flags | (attested ? FLAGS.AT : 0)]), counter];
    if (attested) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(this.aaguid, length, this.credentialId, coseEs256Key(this.keys.publicKey));
    }
    return Buffer.concat(parts);
  }

  /** A registration as navigator.credentials.create() returns it through @simplewebauthn/browser; `none` attestation unless asked. */
  registration(ceremony: Ceremony, flags = this.defaultFlags, attestation: Attestation = { fmt: "none" }) {
    const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.create", challenge: ceremony.challenge, origin: ceremony.origin, crossOrigin: false }));
    const authData = this.authData(ceremony.rpId, flags, this.signCount, true);
    const attStmt = new Map<string, unknown>();
    if (attestation.fmt === "packed") {
      const signingKey = "x5c" in attestation ? attestation.signingKey : this.keys.privateKey;
      attStmt.set("alg", -7);
      attStmt.set("sig", new Uint8Array(sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), signingKey)));
      if ("x5c" in attestation)
        attStmt.set(
          "x5c",
          attestation.x5c.map((der) => new Uint8Array(der)),
        );
    }
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ["fmt", attestation.fmt],
        ["attStmt", attStmt],
        ["authData", authData],
      ]) as never,
    );
    const id = b64url(this.credentialId);
    return {
      id,
      rawId: id,
      type: "public-key",
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ["internal"] },
    };
  }

  /** An assertion for `userId`, signed over authenticatorData ‖ SHA-256(clientDataJSON). */
  assertion(ceremony: Ceremony, userId: string, overrides: AssertionOverrides = {}) {
    this.signCount = overrides.signCount ?? this.signCount + 1;
    const clientData = {
      type: overrides.type ?? "webauthn.get",
      challenge: ceremony.challenge,
      origin: overrides.origin ?? ceremony.origin,
      crossOrigin: overrides.crossOrigin ?? false,
    };
    const clientDataJSON = Buffer.from(JSON.stringify(clientData));
    const authenticatorData = this.authData(overrides.rpId ?? ceremony.rpId, overrides.flags ?? this.defaultFlags, this.signCount);
    const signature = sign("sha256", Buffer.concat([authenticatorData, sha256(clientDataJSON)]), this.keys.privateKey);
    const sentClientData = overrides.tamper ? Buffer.from(JSON.stringify({ ...clientData, tampered: true })) : clientDataJSON;
    const id = b64url(this.credentialId);
    const userHandle = overrides.userHandle === undefined ? b64url(Buffer.from(userId, "utf8")) : (overrides.userHandle ?? undefined);
    return {
      id,
      rawId: id,
      type: "public-key",
      response: { clientDataJSON: b64url(sentClientData), authenticatorData: b64url(authenticatorData), signature: b64url(signature), userHandle },
    };
  }
}

/**
 * Stores a synced passkey for `userId` without a registration ceremony (for tests about what the
 * account has, not about how it got it); its key is a software authenticator's.
 */
export function seedPasskey(
  prisma: { credential: { create(args: { data: Record<string, unknown> }): Promise<{ id: string }> } },
  userId: string,
  id = `seeded-${randomBytes(8).toString("hex")}`,
) {
  return prisma.credential.create({
    data: {
      id,
      userId,
      publicKey: new Uint8Array(new SoftwareAuthenticator().publicKeyCose()),
      deviceType: "multiDevice",
      backupEligible: true,
      backedUp: true,
      aaguid: "00000000-0000-0000-0000-000000000000",
      name: "Phone",
      transports: [],
    },
  });
}
