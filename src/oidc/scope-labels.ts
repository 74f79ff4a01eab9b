/** What a scope lets an application do, as the consent page and the account page say it. */
const LABELS: Readonly<Record<string, string>> = {
  openid: "Know who you are",
  email: "See your email address",
  profile: "See your name and username",
  groups: "See which groups you are in",
  offline_access: "Stay connected when you are not using it",
};

/** A scope the operator configured without a label shows as itself. */
export const scopeLabel = (scope: string) => (Object.hasOwn(LABELS, scope) ? (LABELS[scope] as string) : scope);
