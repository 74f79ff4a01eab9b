import type { TFunction } from "i18next";

/** What an error page says: a plain title and message, what to do next, and the OAuth error for developers. */
export type ErrorPage = {
  title: string;
  message: string;
  next: string;
  error?: string;
  details?: string;
};

/** Which of the explanations in `sign-in:oauthError` an error gets. */
function explanationOf(out: { error?: string; error_description?: string }): { key: string; next: string } {
  const description = out.error_description ?? "";
  if (out.error === "invalid_client" || /client is invalid|client not found/i.test(description)) return { key: "unknownApp", next: "tellOwner" };
  if (out.error === "invalid_redirect_uri" || /redirect_uri/i.test(description)) return { key: "badRedirect", next: "tellOwner" };
  if (out.error === "server_error") return { key: "serverError", next: "serverError.next" };
  if (out.error === "session_ended" || (out.error === "invalid_request" && /interaction|session/i.test(description))) return { key: "ended", next: "back" };
  return { key: "other", next: "back" };
}

/**
 * oidc-provider's errors at the authorization and logout endpoints (when there is no app to send
 * them to), said for the person in front of the page in their language (`t`); the raw error stays
 * in a details line, in English, for the app's developers.
 */
export function explainOAuthError(out: { error?: string; error_description?: string }, t: TFunction): ErrorPage {
  const { key, next } = explanationOf(out);
  return {
    title: t(`sign-in:oauthError.${key}.title`),
    message: t(`sign-in:oauthError.${key}.message`),
    next: t(`sign-in:oauthError.${next}`),
    error: out.error,
    details: out.error_description,
  };
}
