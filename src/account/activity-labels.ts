/** What each security event means to the account's owner, for the activity list. */
const LABELS: Readonly<Record<string, string>> = {
  sign_in: "Sign-in",
  "sign_in.locked_out": "Sign-ins paused after repeated wrong passwords",
  "risk.evaluated": "Unusual sign-in checked",
  "passkey.added": "Passkey added",
  "passkey.renamed": "Passkey renamed",
  "passkey.removed": "Passkey removed",
  "passkey.counter_regression": "A passkey looked copied and was refused",
  "mfa.totp_added": "Authenticator app set up",
  "mfa.totp_removed": "Authenticator app removed",
  "mfa.totp_enrolment": "Authenticator app set-up",
  "mfa.backup_codes_created": "New backup codes created",
  "mfa.locked_out": "Codes paused after repeated wrong codes",
  "session.signed_out_others": "Signed out everywhere else",
  "session.signed_out": "A session was signed out",
  "session.revoked_all": "Signed out everywhere by an operator",
  "app.access_revoked": "App access revoked",
  "email.change_requested": "Email change requested",
  "email.changed": "Email address changed",
  "email.change_cancelled": "Email change cancelled",
  "recovery.requested": "Account recovery requested",
  "recovery.issued_by_operator": "Account recovery started by support",
  "recovery.completed": "Account recovered",
  "recovery.cancelled": "Account recovery cancelled",
  "token.reuse_detected": "A reused sign-in token was refused and its app signed out",
  "user.disabled": "Account disabled by an operator",
  "user.enabled": "Account enabled by an operator",
};

const OUTCOMES: Readonly<Record<string, string>> = { failure: "failed", refused: "refused" };

export function describeEvent(type: string, outcome: string): string {
  const label = LABELS[type] ?? type;
  const suffix = OUTCOMES[outcome];
  return suffix ? `${label} (${suffix})` : label;
}
