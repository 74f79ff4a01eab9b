/** What an error page says: a plain title and message, what to do next, and the OAuth error for developers. */
export type ErrorPage = {
  title: string;
  message: string;
  next: string;
  error?: string;
  details?: string;
};

const BACK = "Go back to the app and start signing in again.";
const TELL_OWNER = "If it keeps happening, tell the app's owner: the link it sends people to sign in is not set up right.";

/**
 * oidc-provider's errors at the authorization and logout endpoints (when there is no app to send
 * them to), said for the person in front of the page; the raw error stays in a details line.
 */
export function explainOAuthError(out: { error?: string; error_description?: string }): ErrorPage {
  const developer = { error: out.error, details: out.error_description };
  const description = out.error_description ?? "";
  if (out.error === "invalid_client" || /client is invalid|client not found/i.test(description))
    return {
      title: "This app is not known here",
      message: "The app that sent you here is not registered with this sign-in service.",
      next: TELL_OWNER,
      ...developer,
    };
  if (out.error === "invalid_redirect_uri" || /redirect_uri/i.test(description))
    return {
      title: "This sign-in link is not set up right",
      message: "The app asked to send you back to an address it has not registered, so signing in stopped here to keep your account safe.",
      next: TELL_OWNER,
      ...developer,
    };
  if (out.error === "server_error")
    return {
      title: "Something went wrong on our side",
      message: "Signing in could not continue because of a problem here.",
      next: "Wait a moment, then go back to the app and try again.",
      ...developer,
    };
  if (out.error === "session_ended" || (out.error === "invalid_request" && /interaction|session/i.test(description)))
    return { title: "This step already ended", message: "It was completed or ended in another window, or it took too long.", next: BACK, ...developer };
  return { title: "Signing in could not continue", message: "The sign-in link was not valid or has expired.", next: BACK, ...developer };
}
