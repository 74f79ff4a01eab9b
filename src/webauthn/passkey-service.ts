import type { VerifiedAuthenticationResponse, VerifiedRegistrationResponse } from "@simplewebauthn/server";
import type { SecurityEventLog } from "../audit/security-event-log.js";
import { APPROVED_KEY_METHOD } from "../auth/assurance.js";
import type { CredentialInsert, CredentialQueries } from "../db/credentials.js";
import type { InteractionStateQueries } from "../db/interaction-state.js";
import { assertThat, badRequest, conflict } from "../errors.js";
import { authenticatorNameOf } from "./authenticator-names.js";
import { MAX_CREDENTIAL_ID_BYTES } from "./credential-id.js";
import {
  assertAttestationAllowed,
  type CeremonyScope,
  coversRegistration,
  coversSignIn,
  NO_APP,
  NO_PASSKEY_POLICY,
  type PasskeyPolicy,
  signInNeedsApprovedKey,
} from "./passkey-policy.js";
import { credentialIdTooLong, parseAuthenticationResponse, parseRegistrationResponse } from "./response-shape.js";

// Loaded at the first ceremony: with its ASN.1 stack it is the largest library the services load,
// and the operator CLI, which builds every service for one command, runs none (issue #12).
const simpleWebAuthn = () => import("@simplewebauthn/server");

/** Challenges live at most 5 minutes (issue #3). */
const CHALLENGE_TTL_MS = 5 * 60_000;
// ES256 and RS256: what platform and roaming authenticators offer; EdDSA adds nothing here.
const ALGORITHMS = [-7, -257];

export interface PasskeyConfig {
  rpId: string;
  rpName: string;
  origins: readonly string[];
}

export interface PasskeySignIn {
  userId: string;
  /** RFC 8176: hwk (device-bound key) or swk (synced key), and user (user presence). */
  amr: string[];
}

export interface PasskeyAccount {
  id: string;
  email: string;
  name: string | null;
}

export interface NewPasskey {
  credential: CredentialInsert;
  /** What creating it proved (RFC 8176), as for a sign-in with it. */
  amr: string[];
}

/** A credential id belongs to one user only: the primary key (also when two requests race). */
export const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "P2002";
const alreadyRegistered = () => conflict("passkey.already_registered", "This passkey is already registered to an account.");
// The same words the page's script uses when the browser itself refuses (excludeCredentials).
// `context`: pages word it as errors:passkey.already_registered_yours (i18next context).
const alreadyYours = () => conflict("passkey.already_registered", "This passkey or security key is already registered to your account.", { context: "yours" });
const userHandleOf = (userId: string) => Buffer.from(userId, "utf8").toString("base64url");
const expired = () => badRequest("passkey.challenge_expired", "This passkey prompt has expired. Try again.");
// One code for every check an assertion can fail (origin, RP ID, flags, signature, counter, whose
// credential it is): the answer to a forged or replayed assertion must not say which part of it
// passed, nor whether a credential belongs to the account it was presented for.
const failed = () => badRequest("passkey.verification_failed", "That passkey could not be verified. Try again, or use another sign-in method.");
const unknownCredential = () => badRequest("passkey.unknown_credential", "This passkey is not registered here. Sign in another way, then add it.");

/**
 * WebAuthn L3 hints: which dialog the browser shows first ("Add a security key", "on this device",
 * "use a phone"); the user can still pick another authenticator there.
 */
export const PASSKEY_HINTS = ["security-key", "client-device", "hybrid"] as const;
export type PasskeyHint = (typeof PASSKEY_HINTS)[number];
// The key prefix of challenges issued for a conditional create.
const CONDITIONAL = "conditional-";
const AUTHENTICATOR_TYPE_OF = { "security-key": "securityKey", "client-device": "localDevice", hybrid: "remoteDevice" } as const;

/** The app a ceremony happens for: none on the account page, sign-up and recovery. */
export type CeremonyApp = Omit<CeremonyScope, "operator">;

/**
 * Passkey registration and sign-in on top of @simplewebauthn/server, plus the checks it leaves to
 * the caller. Challenges are server-side, bound to the interaction, single-use (taken on every
 * attempt, successful or not) and expire within 5 minutes. User verification is required, except
 * for the automatic passkey a password manager creates (conditional create), which may lack it.
 * @throws AppError passkey.* (400), passkey.already_registered (409), passkey_policy.* (400/403)
 */
export function createPasskeyService(deps: {
  credentials: CredentialQueries;
  state: InteractionStateQueries;
  config: PasskeyConfig;
  events: SecurityEventLog;
  /** The operator's attestation policy (issue #16); none by default. */
  policy?: PasskeyPolicy;
  /** Whether an account has the operator role (the policy may apply to operators only). */
  isOperator?: (userId: string) => Promise<boolean>;
  now?: () => Date;
}) {
  const { credentials, state, config } = deps;
  const policy = deps.policy ?? NO_PASSKEY_POLICY;
  const now = deps.now ?? (() => new Date());
  const expiresAt = () => new Date(now().getTime() + CHALLENGE_TTL_MS);
  const scopeOf = async (userId: string, app: CeremonyApp): Promise<CeremonyScope> => ({
    ...app,
    // Looked up only when the answer matters.
    operator: policy.attestation === "direct" && policy.appliesTo === "operators" ? ((await deps.isOperator?.(userId)) ?? false) : false,
  });

  async function takeChallenge(id: string) {
    const challenge = await state.takeChallenge(id);
    if (!challenge || challenge.expiresAt <= now()) throw expired();
    return challenge;
  }

  /**
   * Whether the attestation passes the policy. A covered registration that fails is refused (and
   * recorded); one outside the policy's scope is only marked, so that the passkey counts should the
   * policy cover its owner later (an account made operator).
   */
  async function checkAttestation(userId: string, info: VerifiedRegistrationResponse["registrationInfo"] & object, app: CeremonyApp): Promise<boolean> {
    if (policy.attestation === "none") return false;
    const covered = coversRegistration(policy, await scopeOf(userId, app));
    try {
      await assertAttestationAllowed(policy, info);
      return true;
    } catch (error) {
      if (!covered) return false;
      const rule = (error as { code?: string }).code?.replace("passkey_policy.", "") ?? "unknown";
      await deps.events.record({
        type: "passkey_policy.refused",
        outcome: "refused",
        userId,
        details: { ceremony: "registration", rule, aaguid: info.aaguid, format: info.fmt },
      });
      throw error;
    }
  }

  async function issueRegistrationOptions(
    challengeKey: string,
    account: PasskeyAccount,
    app: CeremonyApp,
    { hint, conditional = false }: { hint?: PasskeyHint; conditional?: boolean },
  ) {
    const existing = await credentials.listCredentialsOfUser(account.id);
    // Asked for only where the policy needs it: browsers may warn that the site wants to know the key's model.
    const attestationType = coversRegistration(policy, await scopeOf(account.id, app)) ? "direct" : "none";
    const { generateRegistrationOptions } = await simpleWebAuthn();
    const options = await generateRegistrationOptions({
      rpName: config.rpName,
      rpID: config.rpId,
      userID: new Uint8Array(Buffer.from(account.id, "utf8")),
      userName: account.email,
      userDisplayName: account.name ?? account.email,
      attestationType,
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports as never })),
      // A password manager creating a passkey on its own asks for no verification: "preferred".
      authenticatorSelection: { residentKey: "required", userVerification: conditional ? "preferred" : "required" },
      supportedAlgorithmIDs: ALGORITHMS,
      timeout: CHALLENGE_TTL_MS,
      ...(hint ? { preferredAuthenticatorType: AUTHENTICATOR_TYPE_OF[hint] } : {}),
    });
    await state.putChallenge(challengeKey, options.challenge, account.id, expiresAt());
    return options;
  }

  async function verifyNewCredential(
    challengeKey: string,
    userId: string,
    body: unknown,
    name: string,
    app: CeremonyApp,
    conditional: boolean,
  ): Promise<NewPasskey> {
    const challenge = await takeChallenge(challengeKey);
    assertThat(challenge.userId === userId, expired);
    const response = parseRegistrationResponse(body);
    const { verifyRegistrationResponse } = await simpleWebAuthn();
    let verification: VerifiedRegistrationResponse;
    try {
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge.challenge,
        expectedOrigin: [...config.origins],
        expectedRPID: config.rpId,
        // Presence (and verification) may be absent only from a conditional create the server asked for.
        requireUserPresence: !conditional,
        requireUserVerification: !conditional,
        supportedAlgorithmIDs: ALGORITHMS,
      });
    } catch {
      throw failed();
    }
    assertThat(verification.verified === true, failed);
    const info = verification.registrationInfo;
    // What is stored is the id in the authenticator data, not the one the client sent beside it.
    assertThat(Buffer.from(info.credential.id, "base64url").length <= MAX_CREDENTIAL_ID_BYTES, credentialIdTooLong);
    const existing = await credentials.findCredentialById(info.credential.id);
    // Whether an id is registered is no secret (see verifyAuthentication); whose it is, beyond "yours", is not said.
    assertThat(!existing, existing?.userId === userId ? alreadyYours : alreadyRegistered);
    const attested = await checkAttestation(userId, info, app);
    const deviceBound = info.credentialDeviceType !== "multiDevice";
    return {
      credential: {
        id: info.credential.id,
        userId,
        publicKey: Buffer.from(info.credential.publicKey),
        counter: BigInt(info.credential.counter),
        transports: info.credential.transports ?? [],
        deviceType: info.credentialDeviceType,
        backupEligible: !deviceBound,
        backedUp: info.credentialBackedUp,
        aaguid: info.aaguid,
        attested,
        attestationFormat: info.fmt,
        // Its provider's own name when the AAGUID is known ("1Password"); the browser and system otherwise.
        name: authenticatorNameOf(info.aaguid) ?? name,
      },
      amr: [deviceBound ? "hwk" : "swk", "user", ...(attested ? [APPROVED_KEY_METHOD] : [])],
    };
  }

  return {
    /**
     * Options for a sign-in: usernameless (discoverable credentials, no allow list) without `userId`;
     * with it, only that user's credentials (a second factor, or re-verifying a known user).
     * `challengeKey` is "<purpose>:<interaction uid>".
     */
    async authenticationOptions(challengeKey: string, userId: string | null = null) {
      const allowed = userId ? await credentials.listCredentialsOfUser(userId) : [];
      const { generateAuthenticationOptions } = await simpleWebAuthn();
      const options = await generateAuthenticationOptions({
        rpID: config.rpId,
        userVerification: "required",
        timeout: CHALLENGE_TTL_MS,
        ...(userId ? { allowCredentials: allowed.map((c) => ({ id: c.id, transports: c.transports as never })) } : {}),
      });
      await state.putChallenge(challengeKey, options.challenge, userId, expiresAt());
      return options;
    },

    /**
     * `app`: the sign-in's app; when the policy covers it, only a passkey registered under the policy
     * is accepted (after its assertion verified, so the answer says nothing about others' passkeys).
     * @throws AppError passkey_policy.approved_key_required (403) besides the passkey.* ones
     */
    async verifyAuthentication(challengeKey: string, body: unknown, app: CeremonyApp = NO_APP): Promise<PasskeySignIn> {
      const challenge = await takeChallenge(challengeKey);
      const response = parseAuthenticationResponse(body);
      const credential = await credentials.findCredentialById(response.id);
      if (challenge.userId) {
        // A known user (second factor, re-verification): the credential must be theirs, and a
        // userHandle, if sent, must name them too. A credential registered to no one fails like one
        // registered to someone else: the answer is about this account only. (Whether an id is
        // registered at all is not a secret here: ids are random and per site, known only to the
        // authenticator that made them, and the usernameless sign-in and registration say it.)
        assertThat(credential?.userId === challenge.userId, failed);
        const handle = response.response.userHandle;
        assertThat(handle === undefined || handle === userHandleOf(credential.userId), failed);
      } else {
        // Usernameless sign-in: an id registered to no one names no account, and telling its holder
        // lets them sign in another way and remove it (what WebAuthn L3 §5.1.10
        // signalUnknownCredential exists for). The authenticator must name the account, and it must
        // own the credential.
        assertThat(credential, unknownCredential);
        assertThat(response.response.userHandle === userHandleOf(credential.userId), failed);
      }

      const { verifyAuthenticationResponse } = await simpleWebAuthn();
      let verification: VerifiedAuthenticationResponse;
      try {
        verification = await verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge.challenge,
          expectedOrigin: [...config.origins],
          expectedRPID: config.rpId,
          credential: {
            id: credential.id,
            publicKey: new Uint8Array(credential.publicKey),
            counter: Number(credential.counter),
            transports: credential.transports as never,
          },
          requireUserVerification: true,
        });
      } catch (error) {
        const message = (error as Error).message;
        // WebAuthn L3 §7.2 step 21: a counter that did not grow signals a cloned authenticator.
        if (/counter/i.test(message))
          await deps.events.record({
            type: "passkey.counter_regression",
            outcome: "refused",
            userId: credential.userId,
            details: { credentialId: credential.id },
          });
        throw failed();
      }
      // Only an explicit true is success.
      assertThat(verification.verified === true, failed);
      const info = verification.authenticationInfo;
      // The backup-eligible flag is fixed at creation; a change means another authenticator.
      assertThat((info.credentialDeviceType === "multiDevice") === credential.backupEligible, failed);
      if (!credential.attested && coversSignIn(policy, await scopeOf(credential.userId, app))) {
        await deps.events.record({
          type: "passkey_policy.refused",
          outcome: "refused",
          userId: credential.userId,
          details: { ceremony: "sign_in", rule: "approved_key_required", credentialId: credential.id },
        });
        throw signInNeedsApprovedKey();
      }
      await credentials.recordCredentialUse(credential.id, info.newCounter, info.credentialBackedUp, now());
      const method = info.credentialDeviceType === "multiDevice" ? "swk" : "hwk";
      return { userId: credential.userId, amr: [method, "user", ...(credential.attested ? [APPROVED_KEY_METHOD] : [])] };
    },

    /**
     * Options to create a passkey for an account (which may not exist yet, during sign-up); its
     * existing credentials are excluded. `challengeKey` is "<purpose>:<interaction or link>".
     */
    registrationOptions: (challengeKey: string, account: PasskeyAccount, hint?: PasskeyHint, app: CeremonyApp = NO_APP) =>
      issueRegistrationOptions(challengeKey, account, app, { hint }),

    /**
     * Options for an automatic passkey (WebAuthn L3 conditional create: the password manager the user
     * just signed in with creates it without a dialog, hence without user presence). Stored apart
     * from every other challenge: only `verifyConditionalRegistration` takes them.
     */
    conditionalRegistrationOptions: (challengeKey: string, account: PasskeyAccount, app: CeremonyApp = NO_APP) =>
      issueRegistrationOptions(`${CONDITIONAL}${challengeKey}`, account, app, { conditional: true }),

    /**
     * Verifies a new credential for the account the challenge was made for; the caller stores it.
     * Where the policy covers the registration (`app`: the sign-in it is made in) its attestation must pass it.
     * @throws AppError passkey_policy.* (400) besides the passkey.* ones
     */
    verifyRegistration: (challengeKey: string, userId: string, body: unknown, name: string, app: CeremonyApp = NO_APP) =>
      verifyNewCredential(challengeKey, userId, body, name, app, false),

    /** The answer to `conditionalRegistrationOptions`: user presence may be absent, nothing else is relaxed (the policy included). */
    verifyConditionalRegistration: (challengeKey: string, userId: string, body: unknown, name: string, app: CeremonyApp = NO_APP) =>
      verifyNewCredential(`${CONDITIONAL}${challengeKey}`, userId, body, name, app, true),

    /**
     * Stores a verified credential for an existing account, by default on its own; `insert` stores it
     * together with what it changes (one transaction) and answers what that returns.
     */
    async savePasskey<T = unknown>(
      passkey: NewPasskey,
      insert: (credential: CredentialInsert) => Promise<T> = credentials.insertCredential as never,
    ): Promise<T> {
      try {
        return await insert(passkey.credential);
      } catch (error) {
        throw isUniqueViolation(error) ? alreadyRegistered() : error;
      }
    },
  };
}

export type PasskeyService = ReturnType<typeof createPasskeyService>;
