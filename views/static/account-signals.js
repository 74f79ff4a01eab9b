// WebAuthn L3 Signal API, where the browser has it (feature-detected; nothing happens without it):
// the password manager drops passkeys this account no longer accepts (removed here or elsewhere)
// and shows the account's current email. Runs on every account page: after a sign-in, a removal
// or an email change, the page the browser lands on is this one.
(() => {
  const signals = document.getElementById("passkey-signals");
  const credentials = window.PublicKeyCredential;
  if (!signals || !credentials) return;
  const { rpId, userId, name } = signals.dataset;
  const ids = (signals.dataset.credentialIds || "").split(" ").filter(Boolean);
  if (typeof credentials.signalAllAcceptedCredentials === "function") {
    credentials.signalAllAcceptedCredentials({ rpId, userId, allAcceptedCredentialIds: ids }).catch(() => {});
  }
  if (typeof credentials.signalCurrentUserDetails === "function") {
    credentials.signalCurrentUserDetails({ rpId, userId, name, displayName: name }).catch(() => {});
  }
})();
