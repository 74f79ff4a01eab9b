import { sha256 } from "../crypto/hash.js";

/**
 * A completed sign-up hands its sign-in to the authorization it started from through a pending
 * login keyed by the interaction and a secret held in this cookie by the browser that created the
 * passkey. Both are needed, so only the browser that did both steps is signed in.
 */
export const signUpContinuationCookie = (secure: boolean) => (secure ? "__Host-signup-continue" : "idp_signup_continue");

export const signUpContinuationKey = (uid: string, secret: string) => `sign-up:${uid}:${sha256(secret)}`;
