import { RateLimiterPrisma, RateLimiterRes } from "rate-limiter-flexible";
import { sha256 } from "../crypto/hash.js";
import { AppError } from "../errors.js";
import type { Db } from "./open-database.js";

export interface ThrottleSettings {
  windowSeconds: number;
  passwordFailuresPerAccount: number;
  passwordFailuresPerIp: number;
}

function tooMany(code: string, what: string, msBeforeNext: number): AppError {
  const minutes = Math.max(1, Math.ceil(msBeforeNext / 60_000));
  return new AppError(code, `${what} Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, 429);
}

const tableOptions = (db: Db) => ({ storeClient: db, tableName: "rateLimit", clearExpiredByTimeout: false });
const accountKey = (email: string) => sha256(email.trim().toLowerCase());
const ipKey = (ip: string) => sha256(ip);

/**
 * Failed password sign-ins, counted per account and per IP in the database (so every server
 * process shares the counts). Unknown emails are counted exactly like known ones: the throttle
 * must not reveal which accounts exist (OWASP ASVS V6.3).
 */
export function createSignInThrottle(db: Db, settings: ThrottleSettings) {
  const common = { ...tableOptions(db), duration: settings.windowSeconds };
  const perAccount = new RateLimiterPrisma({ ...common, keyPrefix: "pwd-account", points: settings.passwordFailuresPerAccount });
  const perIp = new RateLimiterPrisma({ ...common, keyPrefix: "pwd-ip", points: settings.passwordFailuresPerIp });

  return {
    /** @throws AppError auth.throttled (429) when either counter is exhausted. */
    async assertAllowed(email: string, ip: string): Promise<void> {
      const [account, address] = await Promise.all([perAccount.get(accountKey(email)), perIp.get(ipKey(ip))]);
      for (const state of [account, address]) {
        if (state && state.remainingPoints <= 0) throw tooMany("auth.throttled", "Too many sign-in attempts.", state.msBeforeNext);
      }
    },

    async recordFailure(email: string, ip: string): Promise<void> {
      const outcomes = await Promise.allSettled([perAccount.penalty(accountKey(email), 1), perIp.penalty(ipKey(ip), 1)]);
      for (const outcome of outcomes) if (outcome.status === "rejected" && !(outcome.reason instanceof RateLimiterRes)) throw outcome.reason;
    },

    /** Failed attempts on the account within the window (a risk signal). */
    async failuresOf(email: string): Promise<number> {
      return (await perAccount.get(accountKey(email)))?.consumedPoints ?? 0;
    },

    /** A successful sign-in clears the account's count (not the IP's). */
    async recordSuccess(email: string): Promise<void> {
      await perAccount.delete(accountKey(email));
    },

    deleteExpired: (now: Date) => db.rateLimit.deleteMany({ where: { expire: { lt: now } } }),
  };
}

export type SignInThrottle = ReturnType<typeof createSignInThrottle>;

/**
 * Mails people can trigger without signing in (sign-up links), per address and per IP, so the
 * IdP cannot be used to flood an inbox. Counted whether or not the address has an account.
 */
export function createMailThrottle(db: Db, settings: { mailsPerEmailPerHour: number; mailsPerIpPerHour: number }) {
  const common = { ...tableOptions(db), duration: 3600 };
  const perAddress = new RateLimiterPrisma({ ...common, keyPrefix: "mail-address", points: settings.mailsPerEmailPerHour });
  const perIp = new RateLimiterPrisma({ ...common, keyPrefix: "mail-ip", points: settings.mailsPerIpPerHour });

  return {
    /** @throws AppError mail.throttled (429) when either allowance is used up. */
    async consume(email: string, ip: string): Promise<void> {
      const outcomes = await Promise.allSettled([perAddress.consume(accountKey(email)), perIp.consume(ipKey(ip))]);
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
 * Failed second-factor codes (TOTP and backup codes) per account, in the database so every server
 * process shares the count: six digits cannot be guessed within the allowance.
 */
export function createSecondFactorThrottle(db: Db, settings: { windowSeconds: number; secondFactorFailuresPerAccount: number }) {
  const limiter = new RateLimiterPrisma({
    ...tableOptions(db),
    duration: settings.windowSeconds,
    keyPrefix: "mfa-account",
    points: settings.secondFactorFailuresPerAccount,
  });
  const key = (userId: string) => sha256(userId);

  return {
    /** @throws AppError mfa.throttled (429) once the allowance is used up. */
    async assertAllowed(userId: string): Promise<void> {
      const state = await limiter.get(key(userId));
      if (state && state.remainingPoints <= 0) throw tooMany("mfa.throttled", "Too many wrong codes.", state.msBeforeNext);
    },
    async recordFailure(userId: string): Promise<void> {
      try {
        await limiter.penalty(key(userId), 1);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
      }
    },
    recordSuccess: async (userId: string) => {
      await limiter.delete(key(userId));
    },
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
