import type { ConsoleStatQueries } from "../db/console-stats.js";
import { type Adoption, signInMethodOf } from "../observability/metrics.js";

const DAY_MS = 86_400_000;

export interface SignInRow {
  /** passkey, password, password_otp, password_passkey or other: what a page words in its language. */
  kind: string;
  method: string;
  success: number;
  failure: number;
}

const METHOD_LABELS: Record<string, string> = {
  passkey: "Passkey",
  password: "Password",
  password_otp: "Password and code",
  password_passkey: "Password and passkey",
  other: "Other",
};

const percent = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 100));

/**
 * How many people and apps, and how the last day's sign-ins went: the console's first page,
 * `GET /admin/api/overview` and `events overview`.
 */
export function createOverview(stats: ConsoleStatQueries) {
  return async (now = new Date()) => {
    const [accounts, events] = await Promise.all([stats.countAccounts(), stats.countSignInEvents(new Date(now.getTime() - DAY_MS))]);
    const byMethod = new Map<string, SignInRow>();
    let lockOuts = 0;
    const reuse = new Map<string, number>();
    for (const event of events) {
      if (event.type === "sign_in") {
        const kind = signInMethodOf(event.detail.split(" "));
        const method = METHOD_LABELS[kind] ?? "Other";
        const row = byMethod.get(method) ?? { kind, method, success: 0, failure: 0 };
        if (event.outcome === "success") row.success += event.count;
        else row.failure += event.count;
        byMethod.set(method, row);
      } else if (event.type === "token.reuse_detected") {
        reuse.set(event.detail, (reuse.get(event.detail) ?? 0) + event.count);
      } else {
        lockOuts += event.count;
      }
    }
    const signIns = [...byMethod.values()].sort((a, b) => b.success + b.failure - (a.success + a.failure));
    const successful = signIns.reduce((sum, row) => sum + row.success, 0);
    const byPasskey = byMethod.get(METHOD_LABELS.passkey as string)?.success ?? 0;
    return {
      ...accounts,
      signIns,
      passkeyShareOfUsers: percent(accounts.activeWithPasskey, accounts.activeUsers),
      passkeyShareOfSignIns: percent(byPasskey, successful),
      lockOuts,
      refreshTokenReuse: reuse.get("RefreshToken") ?? 0,
      codeReuse: reuse.get("AuthorizationCode") ?? 0,
      otherReuse: [...reuse.entries()].filter(([kind]) => kind !== "RefreshToken" && kind !== "AuthorizationCode").reduce((sum, [, n]) => sum + n, 0),
    };
  };
}

export type Overview = ReturnType<typeof createOverview>;

const WEEK_MS = 7 * DAY_MS;
const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole);

/** Passkey adoption for /metrics: active people with a passkey, and the last week's sign-ins made with one alone. */
export function passkeyAdoption(stats: ConsoleStatQueries) {
  return async (now = new Date()): Promise<Adoption> => {
    const [accounts, events] = await Promise.all([stats.countAccounts(), stats.countSignInEvents(new Date(now.getTime() - WEEK_MS))]);
    let successful = 0;
    let byPasskey = 0;
    for (const event of events) {
      if (event.type !== "sign_in" || event.outcome !== "success") continue;
      successful += event.count;
      if (signInMethodOf(event.detail.split(" ")) === "passkey") byPasskey += event.count;
    }
    return { usersWithPasskey: ratio(accounts.activeWithPasskey, accounts.activeUsers), signInsByPasskey: ratio(byPasskey, successful) };
  };
}
