// Drives the WebAuthn ceremonies of the interaction pages. Loaded as a file under the page's CSP
// (no inline handlers); the server does every check.
(() => {
  const root = document.querySelector("[data-passkey]");
  if (!root) return;
  const { startAuthentication, startRegistration, browserSupportsWebAuthn } = window.SimpleWebAuthnBrowser;
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
      body: JSON.stringify(body ?? {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error_description || "The passkey could not be used. Try again.");
    return data;
  };

  if (!browserSupportsWebAuthn()) {
    for (const button of root.querySelectorAll("[data-passkey-action]")) button.hidden = true;
    return;
  }

  for (const button of root.querySelectorAll("[data-passkey-action]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.passkeyAction;
      button.disabled = true;
      errorBox.hidden = true;
      try {
        const optionsJSON = await post(`/passkey/${action}/options`);
        const response = action === "authenticate" ? await startAuthentication({ optionsJSON }) : await startRegistration({ optionsJSON });
        const remember = document.getElementById("remember")?.checked === true;
        const { redirectTo } = await post(`/passkey/${action}/verify`, { ...response, remember });
        window.location.assign(redirectTo);
      } catch (error) {
        const cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
        showError(cancelled ? "The passkey prompt was closed — try again." : error.message);
      } finally {
        button.disabled = false;
      }
    });
  }
})();
