import type { UserQueries } from "../db/users.js";
import { isCatalogLanguage, type Language } from "../i18n/languages.js";

/**
 * The language mails to a user speak when no request of theirs is being served (an operator's
 * recovery, a sign-in elsewhere): the one they last used, else the operator's default.
 */
export function createUserLanguage(deps: { users: Pick<UserQueries, "setLanguage">; offered: readonly Language[]; fallback: Language }) {
  // A language the operator no longer offers (LANGUAGES changed) gives way to the default.
  const offered = (language: string): language is Language => isCatalogLanguage(language) && deps.offered.includes(language);
  return {
    of: (user: { language?: string | null } | null | undefined): Language => (user?.language && offered(user.language) ? user.language : deps.fallback),

    /** After a verified sign-in or on the account page: written only when it differs from what is stored. */
    async remember(user: { id: string; language?: string | null }, language: Language): Promise<void> {
      if (user.language !== language) await deps.users.setLanguage(user.id, language);
    },
  };
}

export type UserLanguage = ReturnType<typeof createUserLanguage>;
