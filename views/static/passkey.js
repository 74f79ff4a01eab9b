// Drives the WebAuthn ceremonies of the sign-in, second-factor and sign-up pages. Loaded as a file under the
// page's CSP (no inline handlers); the server does every check.
(() => {
  const root = document.querySelector("[data-passkey]");
  if (!root) return;
  const { startAuthentication, startRegistration, browserSupportsWebAuthn, browserSupportsWebAuthnAutofill } = window.SimpleWebAuthnBrowser;
  const errorBox = document.getElementById("passkey-error");

  const showError = (message) => {
    errorBox.textContent = message;
    errorBox.hidden = false;
  };

  const post = async (path, body) => {
    const response = await fetch(`${root.dataset.base}${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": root.dataset.csrf },
      // A sign-up page carries its mailed link's token: the server checks it on every step.
      body: JSON.stringify({ ...body, ...(root.dataset.token ? { token: root.dataset.token } : {}) }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(data.error_description || root.dataset.msgFailed), { fromServer: true, code: data.error });
    return data;
  };

  const remembered = () => document.getElementById("remember")?.checked === true;

  // WebAuthn L3 Signal API, where the browser has it: a passkey the server does not know (deleted
  // here) is dropped from the password manager, so it stops offering it.
  const signalUnknown = (error, response, options) => {
    if (error?.code !== "passkey.unknown_credential" || typeof window.PublicKeyCredential?.signalUnknownCredential !== "function") return;
    window.PublicKeyCredential.signalUnknownCredential({ rpId: options.rpId, credentialId: response.id }).catch(() => {});
  };

  const finish = async (action, response, options) => {
    try {
      const { redirectTo } = await post(`/passkey/${action}/verify`, { ...response, remember: remembered() });
      window.location.assign(redirectTo);
    } catch (error) {
      signalUnknown(error, response, options);
      throw error;
    }
  };

  const friendly = (error) => {
    // The browser refused because excludeCredentials named this authenticator (@simplewebauthn/browser's code for InvalidStateError).
    if (error?.code === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED") return root.dataset.msgAlreadyRegistered;
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) return root.dataset.msgClosed;
    // Only the server's answers are worded in the page's language; the browser's own messages are not.
    return error?.fromServer ? error.message : root.dataset.msgFailed;
  };

  // Autofill (conditional mediation): the browser lists saved passkeys under the email field and
  // resolves only when the user picks one. Started again after every button ceremony, which aborts it.
  const autofillField = document.querySelector("input[data-passkey-autofill]");
  const startAutofill = async () => {
    if (!autofillField || !(await browserSupportsWebAuthnAutofill())) return;
    try {
      const optionsJSON = await post("/passkey/authenticate/options");
      await finish("authenticate", await startAuthentication({ optionsJSON, useBrowserAutofill: true }), optionsJSON);
    } catch (error) {
      // Only what the server said about a passkey the user picked: the browser refusing or ending the
      // waiting autofill request (a button ceremony aborts it) is nothing the user did.
      if (error?.fromServer) showError(friendly(error));
    }
  };

  if (!browserSupportsWebAuthn()) {
    for (const button of root.querySelectorAll("[data-passkey-action]")) button.hidden = true;
    return;
  }
  // Rendered hidden: without this script (JavaScript off) a passkey button could do nothing.
  for (const element of document.querySelectorAll("[data-passkey-only]")) element.hidden = false;

  for (const button of root.querySelectorAll("[data-passkey-action]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.passkeyAction;
      button.disabled = true;
      errorBox.hidden = true;
      try {
        // WebAuthn L3 hints: the dialog the button names comes first ("Add a security key" …).
        const optionsJSON = await post(`/passkey/${action}/options`, button.dataset.passkeyHint ? { hint: button.dataset.passkeyHint } : undefined);
        const creates = action === "register" || button.dataset.passkeyCeremony === "create";
        const response = creates ? await startRegistration({ optionsJSON }) : await startAuthentication({ optionsJSON });
        await finish(action, response, optionsJSON);
      } catch (error) {
        showError(friendly(error));
        startAutofill();
      } finally {
        button.disabled = false;
      }
    });
  }
  // Automatic passkey upgrade (WebAuthn L3 conditional create) right after a password sign-in: the
  // password manager that filled the password creates a passkey without a dialog. Where the browser
  // lacks it, or the manager declines, the offer's button stays; pressing it aborts this request.
  const startAutomaticPasskey = async () => {
    if (root.dataset.automatic === undefined || typeof window.PublicKeyCredential?.getClientCapabilities !== "function") return;
    try {
      const capabilities = await window.PublicKeyCredential.getClientCapabilities();
      if (capabilities?.conditionalCreate !== true) return;
      const optionsJSON = await post("/passkey/register/automatic/options");
      const response = await startRegistration({ optionsJSON, useAutoRegister: true });
      const { redirectTo } = await post("/passkey/register/automatic/verify", response);
      window.location.assign(redirectTo);
    } catch {
      // Nothing the user did: the offer on the page is still there.
    }
  };

  startAutofill();
  startAutomaticPasskey();
})();
