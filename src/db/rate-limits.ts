import { RateLimiterPrisma, RateLimiterRes } from "rate-limiter-flexible";
import { sha256 } from "../crypto/hash.js";
import { AppError } from "../errors.js";
import type { Db } from "./open-database.js";
import { type Consumption, createRateLimitCounters, type RateLimitCounters } from "./rate-limit-counters.js";

export interface ThrottleSettings {
  windowSeconds: number;
  passwordFailuresPerAccount: number;
  passwordFailuresPerAccountUnknownDevices: number;
  passwordFailuresPerIp: number;
}

function tooMany(code: string, what: string, msBeforeNext: number): AppError {
  const minutes = Math.max(1, Math.ceil(msBeforeNext / 60_000));
  // `count`: the catalogs pick the plural form by it (errors:<code>_one / _other).
  return new AppError(code, `${what} Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, 429, { fields: { count: minutes } });
}

const tableOptions = (db: Db) => ({ storeClient: db, tableName: "rateLimit", clearExpiredByTimeout: false });
const accountKey = (email: string) => sha256(email.trim().toLowerCase());
const ipKey = (ip: string) => sha256(ip);

interface Allowance {
  key: string;
  limit: number;
}

/**
 * Takes a point from every allowance before anything is checked, or from none: when one is used up
 * the points are given back (so refused attempts spend nobody's budget) and the attempt is refused.
 */
async function consumeAll(counters: RateLimitCounters, allowances: Allowance[], windowSeconds: number, refuse: (msBeforeNext: number) => AppError) {
  const taken = await Promise.all(allowances.map((allowance) => counters.consume(allowance.key, windowSeconds)));
  const over = taken.filter((consumption, i) => consumption.points > (allowances[i] as Allowance).limit);
  if (over.length === 0) return taken;
  await Promise.all(taken.map((consumption) => counters.refund(consumption)));
  throw refuse(Math.max(...over.map((consumption) => consumption.windowEndsMs - Date.now())));
}

/** The points one password attempt holds until it is known to have failed or succeeded. */
export interface SignInAttempt {
  readonly taken: Consumption[];
  readonly fromKnownDevice: boolean;
}

/**
 * Password sign-ins, counted in the database (every server process shares the counts; keys are
 * hashes). A browser that signed in to the account before (its device cookie, see
 * auth/device-cookie.ts) has its own allowance per account; every other attempt counts against the
 * account's looser ceiling for unknown devices and against its IP. So an attacker's failures
 * cannot lock the owner out of a browser the owner already uses (OWASP "device cookies"). Unknown
 * emails are counted exactly like known ones: the throttle must not reveal which accounts exist
 * (OWASP ASVS V6.3).
 */
export function createSignInThrottle(db: Db, settings: ThrottleSettings) {
  const counters = createRateLimitCounters(db);
  const accountPrefix = (email: string) => `pwd:${accountKey(email)}:`;
  const refuse = (msBeforeNext: number) => tooMany("auth.throttled", "Too many sign-in attempts.", msBeforeNext);

  return {
    /**
     * Takes the attempt's points before the password is checked. `knownDevice`: the id of this
     * browser's device cookie when it has signed in to this account before, else null.
     * @throws AppError auth.throttled (429) when an allowance is used up.
     */
    async consume(email: string, ip: string, knownDevice: string | null): Promise<SignInAttempt> {
      const allowances = knownDevice
        ? [{ key: `${accountPrefix(email)}device:${sha256(knownDevice)}`, limit: settings.passwordFailuresPerAccount }]
        : [
            { key: `${accountPrefix(email)}unknown`, limit: settings.passwordFailuresPerAccountUnknownDevices },
            { key: `pwd-ip:${ipKey(ip)}`, limit: settings.passwordFailuresPerIp },
          ];
      return { taken: await consumeAll(counters, allowances, settings.windowSeconds, refuse), fromKnownDevice: knownDevice !== null };
    },

    /**
     * The password was right: a known device's failures are forgotten; an unknown device's attempt
     * gives its points back (clearing the shared ceiling would hand an attacker a fresh allowance).
     */
    async succeeded(attempt: SignInAttempt): Promise<void> {
      if (attempt.fromKnownDevice) await Promise.all(attempt.taken.map((consumption) => counters.clear(consumption.key)));
      else await Promise.all(attempt.taken.map((consumption) => counters.refund(consumption)));
    },

    /** Failed (or pending) attempts on the account within the window, from every device (a risk signal). */
    failuresOf: (email: string): Promise<number> => counters.sumByPrefix(accountPrefix(email)),

    deleteExpired: (now: Date) => db.rateLimit.deleteMany({ where: { expire: { lt: now } } }),
  };
}

export type SignInThrottle = ReturnType<typeof createSignInThrottle>;

/** What a mail is for: each purpose has its own per-address allowance. */
export type MailPurpose = "sign_up" | "recovery" | "email_change";

/**
 * Mails people can trigger without signing in (sign-up and recovery links), per address and per IP,
 * so the IdP cannot be used to flood an inbox. Counted whether or not the address has an account.
 * Each purpose has its own per-address allowance (sign-up requests cannot use up recovery's), and
 * a browser that signed in to the account before has its own (strangers cannot block the owner's
 * recovery from a known browser).
 */
export function createMailThrottle(db: Db, settings: { mailsPerEmailPerHour: number; mailsPerIpPerHour: number }) {
  const common = { ...tableOptions(db), duration: 3600 };
  const perAddress = new RateLimiterPrisma({ ...common, keyPrefix: "mail-address", points: settings.mailsPerEmailPerHour });
  const perIp = new RateLimiterPrisma({ ...common, keyPrefix: "mail-ip", points: settings.mailsPerIpPerHour });

  return {
    /** @throws AppError mail.throttled (429) when either allowance is used up. */
    async consume(purpose: MailPurpose, email: string, ip: string, knownDevice: string | null = null): Promise<void> {
      const addressKey = `${purpose}:${accountKey(email)}${knownDevice ? `:device:${sha256(knownDevice)}` : ""}`;
      const outcomes = await Promise.allSettled([perAddress.consume(addressKey), perIp.consume(ipKey(ip))]);
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") continue;
        if (!(outcome.reason instanceof RateLimiterRes)) throw outcome.reason;
        throw tooMany("mail.throttled", "Too many emails were requested.", outcome.reason.msBeforeNext);
      }
    },
  };
}

export type MailThrottle = ReturnType<typeof createMailThrottle>;

/**
 * Second-factor codes (TOTP and backup codes) per account, in the database so every server process
 * shares the count: six digits cannot be guessed within the allowance. A point is taken before a
 * code is checked, so a burst checks at most the allowance.
 */
export function createSecondFactorThrottle(db: Db, settings: { windowSeconds: number; secondFactorFailuresPerAccount: number }) {
  const counters = createRateLimitCounters(db);
  const key = (userId: string) => `mfa-account:${sha256(userId)}`;
  const refuse = (msBeforeNext: number) => tooMany("mfa.throttled", "Too many wrong codes.", msBeforeNext);

  return {
    /** @throws AppError mfa.throttled (429) once the allowance is used up. */
    async consume(userId: string): Promise<void> {
      await consumeAll(counters, [{ key: key(userId), limit: settings.secondFactorFailuresPerAccount }], settings.windowSeconds, refuse);
    },
    /** A right code forgets the account's wrong ones (only the holder of the factor can do this). */
    recordSuccess: (userId: string) => counters.clear(key(userId)),
  };
}

export type SecondFactorThrottle = ReturnType<typeof createSecondFactorThrottle>;

/**
 * Admin API requests per machine client, shared by every process: a runaway script (or a leaked
 * token) cannot hammer user and client management.
 */
export function createAdminApiThrottle(db: Db, settings: { adminRequestsPerMinute: number }) {
  const limiter = new RateLimiterPrisma({ ...tableOptions(db), keyPrefix: "admin-api", points: settings.adminRequestsPerMinute, duration: 60 });
  return {
    /** @throws AppError admin.throttled (429) when the client used its allowance. */
    async consume(clientId: string): Promise<void> {
      try {
        await limiter.consume(sha256(clientId));
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        throw tooMany("admin.throttled", "Too many admin API requests from this client.", error.msBeforeNext);
      }
    },
  };
}

export type AdminApiThrottle = ReturnType<typeof createAdminApiThrottle>;
