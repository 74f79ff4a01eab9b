// Copy, download and print for freshly made backup codes. Everything happens in this page: the
// codes are stored only as hashes, so the server can never send them again. Loaded as a file under
// the page's CSP (no inline handlers).
(() => {
  const root = document.querySelector("[data-backup-codes]");
  if (!root) return;
  const codes = [...root.querySelectorAll(".codes code")].map((code) => code.textContent.trim());
  // The page's language, from the template's data-msg-* attributes.
  const messages = root.dataset;
  const text = `${messages.msgFileHeading.replace("{{host}}", location.host)}\n\n${codes.join("\n")}\n`;
  const status = root.querySelector("[data-codes-status]");
  const say = (message) => {
    status.textContent = message;
  };

  const copy = root.querySelector("[data-copy-codes]");
  // The Clipboard API exists only in secure contexts (https, or http on localhost).
  if (navigator.clipboard && typeof navigator.clipboard.writeText === "function") {
    copy.hidden = false;
    copy.addEventListener("click", () => {
      navigator.clipboard.writeText(text).then(
        () => say(messages.msgCopied),
        () => say(messages.msgCopyFailed),
      );
    });
  }

  const download = root.querySelector("[data-download-codes]");
  if (typeof Blob === "function" && typeof URL.createObjectURL === "function") {
    download.download = `backup-codes-${location.hostname}.txt`;
    download.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    download.hidden = false;
  }

  const print = root.querySelector("[data-print-codes]");
  if (typeof window.print === "function") {
    print.hidden = false;
    print.addEventListener("click", () => window.print());
  }

  root.querySelector("[data-backup-code-actions]").hidden = false;
})();
