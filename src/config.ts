import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { extname, join, resolve } from "node:path";
import proxyAddr from "proxy-addr";
import { getDomain, getDomainWithoutSuffix } from "tldts";
import { z } from "zod";
import { CATALOG_LANGUAGES, type Language } from "./i18n/languages.js";
import { PROJECT_ROOT } from "./paths.js";
import { type MetadataRoots, type PasskeyPolicy, POLICY_SCOPES } from "./webauthn/passkey-policy.js";

const defaultsSchema = z.object({
  ttl: z.object({
    authorizationCodeSeconds: z.number().int().min(1).max(600),
    accessTokenSeconds: z.number().int().positive(),
    idTokenSeconds: z.number().int().positive(),
    clientCredentialsSeconds: z.number().int().positive(),
    refreshTokenIdleSeconds: z.number().int().positive(),
    refreshTokenAbsoluteSeconds: z.number().int().positive(),
    interactionSeconds: z.number().int().positive(),
    sessionIdleSeconds: z.number().int().positive(),
    sessionAbsoluteSeconds: z.number().int().positive(),
    keepSignedInSeconds: z.number().int().positive(),
  }),
  claimsByScope: z.record(z.string(), z.array(z.string())),
  idTokenSigningAlg: z.enum(["ES256", "RS256"]),
  password: z.object({
    memoryCostKiB: z.number().int().min(19456),
    timeCost: z.number().int().min(2),
    parallelism: z.number().int().min(1),
  }),
  caches: z.object({
    clientSeconds: z.number().min(0),
    accountSeconds: z.number().min(0),
    oidcPayloadSeconds: z.number().min(0),
    oidcPayloadEntries: z.number().int().positive(),
  }),
  throttle: z.object({
    windowSeconds: z.number().int().positive(),
    /** Failed passwords per account from one browser that signed in to it before (its device cookie). */
    passwordFailuresPerAccount: z.number().int().positive(),
    /** Failed passwords per account from every other browser together: the ceiling on online guessing. */
    passwordFailuresPerAccountUnknownDevices: z.number().int().positive(),
    passwordFailuresPerIp: z.number().int().positive(),
    secondFactorFailuresPerAccount: z.number().int().positive(),
    /** Admin API requests per machine client per minute. */
    adminRequestsPerMinute: z.number().int().positive(),
  }),
  signUp: z.object({
    /** open: anyone may sign up; invite: only through an operator's invitation; off: operators create accounts. */
    mode: z.enum(["open", "invite", "off"]),
    /** optional: an account may add a password on its account page, as a fallback; never: new accounts stay passwordless. */
    passwords: z.enum(["optional", "never"]),
    // Issue #3: verification links expire within 30 minutes.
    linkSeconds: z.number().int().min(60).max(1800),
    invitationSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600),
    mailsPerEmailPerHour: z.number().int().positive(),
    mailsPerIpPerHour: z.number().int().positive(),
  }),
  recovery: z.object({
    // Issue #4: recovery links expire after 15 minutes.
    linkSeconds: z.number().int().min(60).max(900),
    /**
     * For users with neither a second factor nor backup codes: how long a recovery link waits before
     * it works (default a day; 0: off). Without it, whoever reads the mailbox takes the account at once.
     */
    delaySeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86400),
  }),
  policy: z.object({
    /** The lowest level every sign-in must reach, for every client (null: none); users without it enrol one. */
    minimumAcr: z.enum(["urn:idp:acr:mfa", "urn:idp:acr:passkey"]).nullable(),
    /** Issue #16: which passkeys may be registered (attestation), and for whom; see README "Passkey policy". */
    passkeys: z.object({
      attestation: z.enum(["none", "direct"]),
      /** PEM files (absolute, or relative to DATA_DIR) of the roots attestations may chain to. */
      roots: z.array(z.string()),
      /** FIDO metadata statement JSON files (absolute, or relative to DATA_DIR), read at start-up. */
      metadataStatements: z.array(z.string()),
      /** AAGUIDs allowed (empty: any whose attestation verifies). */
      aaguids: z.array(z.string()),
      appliesTo: z.enum(POLICY_SCOPES),
    }),
  }),
  risk: z.object({
    /** Score (0–100) from which a silent re-authentication must pass a second factor again. */
    threshold: z.number().int().min(1).max(101),
  }),
  account: z.object({
    /** How recent a verification changing security settings needs (issue #4: 10 minutes). */
    reverifySeconds: z.number().int().min(60).max(3600),
  }),
  /** The operator's brand on every page and mail; BRAND_* in the environment override each. */
  branding: z.object({
    siteName: z.string().nullable(),
    /** An https URL, or a file (absolute, or relative to DATA_DIR): PNG, JPEG, GIF, WebP or SVG. */
    logo: z.string().nullable(),
    accentColor: z.string().nullable(),
    /** A CSS file (absolute, or relative to DATA_DIR) served after the built-in styles. */
    extraCss: z.string().nullable(),
  }),
  /** The languages pages and mails are offered in (ui_locales_supported) and the one used when none is asked for. */
  languages: z.object({
    offered: z.array(z.enum(CATALOG_LANGUAGES)).min(1),
    default: z.enum(CATALOG_LANGUAGES),
  }),
  retention: z.object({
    /** Security events (the users' activity lists, `events list`) older than this are deleted. */
    securityEventDays: z.number().int().min(30),
    /** Operators' audit records (`events audit`) older than this are deleted. */
    auditEventDays: z.number().int().min(90),
  }),
  sweepIntervalSeconds: z.number().int().positive(),
  retiredKeyGraceSeconds: z.number().int().min(0),
  keys: z.object({
    /** How long relying parties may cache the JWKS (its Cache-Control max-age). */
    jwksMaxAgeSeconds: z.number().int().min(0).max(86_400),
    /** How long a rotation publishes the new keys before they sign; longer than jwksMaxAgeSeconds. */
    publishDelaySeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400),
  }),
  requestBodyLimit: z.string().regex(/^\d+(kb|mb)$/),
  load: z.object({
    /** Requests this process runs at once (health checks and metrics aside); see README "Load shedding". */
    maxInFlight: z.number().int().min(1),
    /** Requests that may wait for a slot beyond those; every further one is refused at once (0: none wait). */
    maxQueued: z.number().int().min(0),
    /** How long a request may wait for a slot before it is refused. */
    maxQueueWaitMs: z.number().int().min(1).max(10_000),
    /** The Retry-After of a refused request. */
    retryAfterSeconds: z.number().int().min(1).max(3600),
  }),
});

export type Defaults = z.infer<typeof defaultsSchema>;

export type BrandLogo = { readonly url: string } | { readonly file: string; readonly type: string };

export interface Branding {
  readonly siteName: string;
  readonly logo: BrandLogo | null;
  readonly accentColor: string | null;
  readonly extraCss: string | null;
}

export interface Config extends Omit<Defaults, "branding" | "languages" | "policy"> {
  readonly policy: { readonly minimumAcr: Defaults["policy"]["minimumAcr"]; readonly passkeys: PasskeyPolicy };
  readonly branding: Branding;
  readonly languages: { readonly offered: readonly Language[]; readonly default: Language };
  /** CUSTOM_SCOPES: the operator's scopes and the custom claims each releases (also in claimsByScope). */
  readonly customScopes: Readonly<Record<string, string[]>>;
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  /** The issuer identifier, exactly as published in discovery (no trailing slash). */
  readonly issuer: string;
  /** True when the issuer is https: cookies are Secure and `__Host-` prefixed, HSTS is sent. */
  readonly secureCookies: boolean;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  /** The root secret every other key is derived from; null in development (generated into DATA_DIR). */
  readonly secretKey: Buffer | null;
  readonly logLevel: string;
  /** Whether any reverse proxy is trusted (its X-Forwarded-Proto and -Host are honoured). */
  readonly trustProxy: boolean;
  /** How many proxies in front append to X-Forwarded-For (0 when `trustedProxies` lists them instead). */
  readonly proxyHops: number;
  /** The addresses/CIDRs of the trusted proxies (empty when counted by `proxyHops`). */
  readonly trustedProxies: readonly string[];
  /** `relatedOrigins`: the origins not on the RP ID, published at /.well-known/webauthn (Related Origin Requests). */
  readonly webauthn: { readonly rpId: string; readonly rpName: string; readonly origins: readonly string[]; readonly relatedOrigins: readonly string[] };
  readonly mail: MailConfig;
  /** Bearer token for GET /metrics; null: no metrics endpoint. */
  readonly metricsToken: string | null;
  /** RFC 8707 resource indicators of the APIs tokens may be issued for (their `aud`); empty: none. */
  readonly resourceServers: readonly string[];
  /** Server processes (node:cluster) above 1; 1 runs the server in this process alone. */
  readonly workers: number;
}

export interface MailConfig {
  /** smtp:// or smtps:// URL; null writes every message to `outboxDir` instead (development). */
  readonly smtpUrl: string | null;
  readonly outboxDir: string;
  /** The From header, e.g. `Example ID <no-reply@id.example.com>`. */
  readonly from: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

type Env = Record<string, string | undefined>;

/** Reads NAME, or the contents of the file NAME_FILE names (for Docker/Kubernetes secrets). */
function readSecret(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, "utf8").trim();
    } catch (error) {
      throw new ConfigError(`${name}_FILE could not be read (${(error as Error).message})`);
    }
  }
  return env[name] || undefined;
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === "") return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be an integer from 0 to 65535 (got "${value}")`);
  }
  return port;
}

function parseIssuer(value: string, production: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`ISSUER must be an absolute URL (got "${value}")`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`ISSUER must be an https URL (got "${value}")`);
  }
  if (url.protocol === "http:" && (production || !LOOPBACK_HOSTS.has(url.hostname))) {
    throw new ConfigError(`ISSUER must be an https URL; plain http is only for localhost in development (got "${value}")`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`ISSUER must not contain a query, fragment or credentials (got "${value}")`);
  }
  if (url.pathname !== "/") {
    throw new ConfigError(`ISSUER must not have a path; serve the IdP at the root of its host (got "${value}")`);
  }
  return url.origin;
}

const MAX_PROXY_HOPS = 10;

/**
 * TRUST_PROXY: `false`/`0` (none), `true` (one hop), a hop count, or a comma-separated list of
 * proxy addresses/CIDRs (proxy-addr's names `loopback`, `linklocal`, `uniquelocal` included).
 */
function parseTrustProxy(value: string | undefined): { trustProxy: boolean; proxyHops: number; trustedProxies: readonly string[] } {
  const raw = (value ?? "").trim();
  if (raw === "" || raw === "false" || raw === "0") return { trustProxy: false, proxyHops: 0, trustedProxies: [] };
  if (raw === "true") return { trustProxy: true, proxyHops: 1, trustedProxies: [] };
  // Spelled exactly: "00" must not read as "a proxy is trusted, with no hops".
  if (/^\d+$/.test(raw)) {
    if (!/^[1-9]\d*$/.test(raw)) throw new ConfigError(`TRUST_PROXY must be a whole number of proxy hops from 1 (got "${value}")`);
    const hops = Number(raw);
    if (hops > MAX_PROXY_HOPS) throw new ConfigError(`TRUST_PROXY must be at most ${MAX_PROXY_HOPS} hops (got "${value}")`);
    return { trustProxy: true, proxyHops: hops, trustedProxies: [] };
  }
  const list = raw.split(",").map((entry) => entry.trim());
  try {
    if (list.some((entry) => entry === "")) throw new Error("empty entry");
    proxyAddr.compile(list);
  } catch (error) {
    throw new ConfigError(
      `TRUST_PROXY must be true, false, a number of proxy hops, or a comma-separated list of proxy addresses/CIDRs (got "${value}": ${(error as Error).message})`,
    );
  }
  return { trustProxy: true, proxyHops: 0, trustedProxies: Object.freeze(list) };
}

function parseSecretKey(value: string | undefined, production: boolean): Buffer | null {
  if (!value) {
    if (production) throw new ConfigError("SECRET_KEY (or SECRET_KEY_FILE) is required when NODE_ENV=production");
    return null;
  }
  const key = Buffer.from(value, "base64url");
  if (key.length < 32) {
    throw new ConfigError("SECRET_KEY must be at least 32 random bytes, base64 or base64url encoded (e.g. `openssl rand -base64 32`)");
  }
  return key;
}

/**
 * WebAuthn: the RP ID must be the issuer's host or a parent domain of it, and every expected
 * origin must be on the RP ID (WebAuthn L3 §5.1.4.1), https except http://localhost in development.
 */
const MAX_RELATED_LABELS = 5;

function parseWebauthn(env: Env, issuer: string, production: boolean) {
  const issuerHost = new URL(issuer).hostname;
  const rpId = env.WEBAUTHN_RP_ID || issuerHost;
  if (rpId !== issuerHost && !issuerHost.endsWith(`.${rpId}`)) {
    throw new ConfigError(`WEBAUTHN_RP_ID must be the ISSUER's host or a parent domain of it (got "${rpId}" for host "${issuerHost}")`);
  }
  const origins = (env.WEBAUTHN_ORIGINS || issuer)
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(`WEBAUTHN_ORIGINS must be a comma-separated list of origins (got "${origin}")`);
    }
    const secure = url.protocol === "https:" || (!production && url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
    if (!secure || url.origin !== origin) throw new ConfigError(`WEBAUTHN_ORIGINS entries must be https origins without a path (got "${origin}")`);
    const onRpId = url.hostname === rpId || url.hostname.endsWith(`.${rpId}`);
    if (!onRpId && (url.protocol !== "https:" || !getDomain(url.hostname))) {
      throw new ConfigError(
        `WEBAUTHN_ORIGINS entry "${origin}" is neither on WEBAUTHN_RP_ID "${rpId}" nor an https origin on a registrable domain (a related origin)`,
      );
    }
  }
  // WebAuthn L3 §5.11 (Related Origin Requests): browsers accept at most five distinct labels
  // (the registrable domain without its public suffix) among the origins /.well-known/webauthn lists.
  const related = origins.filter((origin) => {
    const host = new URL(origin).hostname;
    return host !== rpId && !host.endsWith(`.${rpId}`);
  });
  const labels = new Set(related.map((origin) => getDomainWithoutSuffix(new URL(origin).hostname)));
  if (labels.size > MAX_RELATED_LABELS) {
    throw new ConfigError(
      `WEBAUTHN_ORIGINS lists related origins on ${labels.size} different domain labels (${[...labels].join(", ")}); browsers accept at most ${MAX_RELATED_LABELS}`,
    );
  }
  return Object.freeze({ rpId, rpName: env.WEBAUTHN_RP_NAME || rpId, origins: Object.freeze(origins), relatedOrigins: Object.freeze(related) });
}

function parseMail(env: Env, dataDir: string, issuer: string, siteName: string, production: boolean): MailConfig {
  const smtpUrl = readSecret(env, "SMTP_URL") ?? null;
  if (smtpUrl === null && production) {
    throw new ConfigError("SMTP_URL (or SMTP_URL_FILE) is required when NODE_ENV=production: sign-up and recovery links are sent by mail");
  }
  if (smtpUrl !== null && !/^smtps?:\/\/[^/\s]+/.test(smtpUrl)) {
    // Only the scheme is named: the URL may hold the SMTP password.
    throw new ConfigError("SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtps://user:password@mail.example.com:465");
  }
  // The site's name as a quoted display name (RFC 5322 §3.4), without what would end the quote or the address.
  const from = env.MAIL_FROM || `"${siteName.replace(/[\r\n<>"\\]/g, "").trim()}" <no-reply@${new URL(issuer).hostname}>`;
  if (!/^[^\r\n<>]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(from)) {
    throw new ConfigError(`MAIL_FROM must be an address, optionally with a name: "Example ID <no-reply@example.com>" (got "${from}")`);
  }
  return Object.freeze({ smtpUrl, outboxDir: join(dataDir, "outbox"), from });
}

function parseMetricsToken(value: string | undefined): string | null {
  if (!value) return null;
  if (value.length < 32) throw new ConfigError("METRICS_TOKEN must be at least 32 characters (e.g. `openssl rand -base64 32`)");
  return value;
}

function parseDatabaseUrl(value: string | undefined): string | null {
  if (!value) return null;
  if (!/^postgres(ql)?:\/\//.test(value)) {
    throw new ConfigError("DATABASE_URL must be a postgres:// or postgresql:// URL (unset it to use the embedded database)");
  }
  return value;
}

/**
 * RESOURCE_SERVERS: the APIs a client may ask a token for with `resource=` (RFC 8707 §2: absolute
 * URIs without a fragment), space- or comma-separated; https, or http on localhost outside production.
 * Clients send one exactly as listed; it becomes the token's audience.
 */
function parseResourceServers(value: string | undefined, production: boolean): string[] {
  const identifiers = [...new Set((value ?? "").split(/[\s,]+/).filter(Boolean))];
  for (const identifier of identifiers) {
    const url = URL.parse(identifier);
    const loopbackHttp = url?.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname) && !production;
    if (!url || (url.protocol !== "https:" && !loopbackHttp) || identifier.includes("#") || url.username || url.password) {
      throw new ConfigError(
        `RESOURCE_SERVERS must list absolute https URIs without fragment or credentials, e.g. https://api.example.com (got "${identifier}")`,
      );
    }
  }
  return identifiers;
}

// Each worker holds its own database pool (10) plus a LISTEN connection: 32 of them already need
// 352 of PostgreSQL's connections (its default max_connections is 100).
const MAX_WORKERS = 32;

/** WORKERS: default one per core on PostgreSQL; the embedded database belongs to one process. */
function parseWorkers(value: string | undefined, embedded: boolean): number {
  if (value === undefined || value === "") return embedded ? 1 : Math.min(availableParallelism(), MAX_WORKERS);
  if (!/^[1-9]\d*$/.test(value) || Number(value) > MAX_WORKERS) {
    throw new ConfigError(`WORKERS must be a whole number from 1 to ${MAX_WORKERS} (got "${value}")`);
  }
  const workers = Number(value);
  // PGlite has no locking between processes: a second writer on DATA_DIR would corrupt it.
  if (embedded && workers > 1) {
    throw new ConfigError(`WORKERS must be 1 with the embedded database: one process owns DATA_DIR; set DATABASE_URL to run several (got "${value}")`);
  }
  return workers;
}

// OIDC Core §5.1 and the JWT/ID token claims: a custom claim with one of these names would
// impersonate what relying parties trust the IdP for (sub, email_verified, acr …).
const RESERVED_CLAIMS = new Set(
  "sub iss aud exp iat nbf jti auth_time nonce acr amr azp at_hash c_hash s_hash sid cnf scope client_id name given_name family_name middle_name nickname preferred_username profile picture website email email_verified gender birthdate zoneinfo locale phone_number phone_number_verified address updated_at groups _claim_names _claim_sources".split(
    " ",
  ),
);
const RESERVED_SCOPES = new Set(["openid", "offline_access", "admin", "email", "profile", "groups", "address", "phone"]);
const CUSTOM_SCOPE_NAME = /^[a-z][a-z0-9_.:-]{0,63}$/;
// Names JavaScript objects already have (constructor, toString, __proto__ …): claims and scopes are
// object keys in oidc-provider, where `constructor` breaks every token of the person holding it.
const isObjectBuiltIn = (name: string) => name === "__proto__" || name in Object.prototype;
const CUSTOM_CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

/**
 * CUSTOM_SCOPES="nextcloud=quota,nextcloud_admin grafana=grafana_role": scopes of the operator's own,
 * each releasing the custom claims filed on people and groups under those names.
 */
function parseCustomScopes(value: string | undefined, builtIn: Record<string, string[]>): Record<string, string[]> {
  const scopes: Record<string, string[]> = {};
  const claimed = new Map<string, string>();
  const taken = new Set(Object.values(builtIn).flat());
  for (const entry of (value ?? "").split(/\s+/).filter(Boolean)) {
    const [scope = "", claims = "", ...extra] = entry.split("=");
    const fail = (why: string) => new ConfigError(`CUSTOM_SCOPES: ${why} (in "${entry.slice(0, 80)}"; the form is "scope=claim,claim other=claim")`);
    if (extra.length > 0 || !CUSTOM_SCOPE_NAME.test(scope)) throw fail("a scope name is 1 to 64 of a-z, 0-9, _ . : -, starting with a letter");
    if (RESERVED_SCOPES.has(scope) || Object.hasOwn(builtIn, scope) || Object.hasOwn(scopes, scope)) throw fail(`"${scope}" is a built-in or repeated scope`);
    if (isObjectBuiltIn(scope)) throw fail(`"${scope}" is a name JavaScript objects already have`);
    const names = claims.split(",").filter(Boolean);
    if (names.length === 0) throw fail(`scope "${scope}" names no claim`);
    for (const name of names) {
      if (!CUSTOM_CLAIM_NAME.test(name))
        throw fail(`a claim name is 1 to 64 of A-Z, a-z, 0-9, _ . : -, not starting with a digit (got "${name.slice(0, 40)}")`);
      if (RESERVED_CLAIMS.has(name) || taken.has(name)) throw fail(`"${name}" is a standard claim the IdP releases itself`);
      if (isObjectBuiltIn(name)) throw fail(`"${name}" is a name JavaScript objects already have`);
      if (claimed.has(name)) throw fail(`claim "${name}" is already filed under scope "${claimed.get(name)}"`);
      claimed.set(name, scope);
    }
    scopes[scope] = names;
  }
  return scopes;
}

const LOGO_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
};
const MAX_LOGO_BYTES = 256 * 1024;
const MAX_CSS_BYTES = 64 * 1024;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const SIGNATURES: Record<string, (bytes: Buffer) => boolean> = {
  "image/png": (bytes) => bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  "image/jpeg": (bytes) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff,
  "image/gif": (bytes) => bytes.subarray(0, 4).toString("latin1") === "GIF8",
  "image/webp": (bytes) => bytes.subarray(0, 4).toString("latin1") === "RIFF" && bytes.subarray(8, 12).toString("latin1") === "WEBP",
  "image/svg+xml": (bytes) => /^(\ufeff)?\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg[\s>]/i.test(bytes.toString("utf8")),
};

/**
 * The file must be what its name says: a mistyped path (/etc/passwd, a key file) would otherwise
 * be served to anyone at /static/brand-logo or /static/brand.css.
 */
function assertBrandFileContent(setting: string, path: string, type: string): void {
  const bytes = readFileSync(path);
  const ok = type === "text/css" ? bytes.indexOf(0) === -1 && Buffer.from(bytes.toString("utf8")).equals(bytes) : SIGNATURES[type]?.(bytes) === true;
  if (!ok) throw new ConfigError(`${setting} is not a ${type === "text/css" ? "CSS (UTF-8 text)" : type} file: ${path}`);
}

/** A file the operator named: absolute, or relative to DATA_DIR; it must exist and be small. */
function brandFile(setting: string, value: string, dataDir: string, maxBytes: number): string {
  const path = resolve(dataDir, value);
  let size: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new Error("not a file");
    size = stats.size;
  } catch {
    throw new ConfigError(`${setting} names a file that cannot be read: ${path}`);
  }
  if (size > maxBytes) throw new ConfigError(`${setting} is larger than ${maxBytes / 1024} KiB (${path})`);
  return path;
}

const MAX_POLICY_FILE_BYTES = 1024 * 1024;
const AAGUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const listOf = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);

/** A certificate as PEM, or null when it is not one. */
function certificatePem(der: Buffer): string | null {
  try {
    return new X509Certificate(der).toString();
  } catch {
    return null;
  }
}

function readPolicyFile(setting: string, value: string, dataDir: string): string {
  return readFileSync(brandFile(setting, value, dataDir, MAX_POLICY_FILE_BYTES), "utf8");
}

/** Every certificate of a PEM file; a file without one, or with one that does not parse, fails. */
function readRootCertificates(setting: string, value: string, dataDir: string): string[] {
  const path = resolve(dataDir, value);
  const blocks = readPolicyFile(setting, value, dataDir).match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new ConfigError(`${setting} names a file with no PEM certificate (-----BEGIN CERTIFICATE-----): ${path}`);
  return blocks.map((block) => {
    const pem = certificatePem(Buffer.from(block.replace(/-----[A-Z ]+-----|\s/g, ""), "base64"));
    if (!pem) throw new ConfigError(`${setting} names a file with a certificate that does not parse: ${path}`);
    return pem;
  });
}

/** A FIDO metadata statement (or a JSON array of them): its aaguid, description and attestationRootCertificates (base64 DER). */
function readMetadataStatements(setting: string, value: string, dataDir: string): MetadataRoots[] {
  const path = resolve(dataDir, value);
  const fail = (why: string) => new ConfigError(`${setting}: ${path} ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readPolicyFile(setting, value, dataDir));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw fail("is not JSON");
  }
  return (Array.isArray(parsed) ? parsed : [parsed]).map((statement: unknown) => {
    const { aaguid, description, attestationRootCertificates } = (statement ?? {}) as Record<string, unknown>;
    if (typeof aaguid !== "string" || !AAGUID.test(aaguid.toLowerCase()))
      throw fail("is not a FIDO2 metadata statement: it has no aaguid (U2F statements, keyed by certificate key identifiers, are not supported)");
    if (typeof description !== "string" || description.trim() === "") throw fail(`has no description for aaguid ${aaguid}`);
    if (!Array.isArray(attestationRootCertificates) || attestationRootCertificates.length === 0)
      throw fail(`lists no attestationRootCertificates for aaguid ${aaguid}`);
    const roots = attestationRootCertificates.map((der) => {
      const pem = typeof der === "string" ? certificatePem(Buffer.from(der, "base64")) : null;
      if (!pem) throw fail(`has an attestationRootCertificates entry that is not a base64 DER certificate (aaguid ${aaguid})`);
      return pem;
    });
    return Object.freeze({ aaguid: aaguid.toLowerCase(), description: description.trim(), roots: Object.freeze(roots) });
  });
}

/**
 * `policy.passkeys`; PASSKEY_ATTESTATION, PASSKEY_ROOTS, PASSKEY_METADATA_STATEMENTS, PASSKEY_AAGUIDS
 * (comma-separated) and PASSKEY_POLICY_APPLIES_TO override it. Every file is read and parsed here,
 * once: nothing is downloaded at run time.
 */
function parsePasskeyPolicy(env: Env, defaults: Defaults["policy"]["passkeys"], dataDir: string): PasskeyPolicy {
  const attestation = env.PASSKEY_ATTESTATION || defaults.attestation;
  if (attestation !== "none" && attestation !== "direct")
    throw new ConfigError(`PASSKEY_ATTESTATION (policy.passkeys.attestation) must be none or direct (got "${attestation.slice(0, 20)}")`);
  const appliesTo = env.PASSKEY_POLICY_APPLIES_TO || defaults.appliesTo;
  if (!(POLICY_SCOPES as readonly string[]).includes(appliesTo))
    throw new ConfigError(`PASSKEY_POLICY_APPLIES_TO (policy.passkeys.appliesTo) must be one of ${POLICY_SCOPES.join(", ")} (got "${appliesTo.slice(0, 20)}")`);
  const aaguids = (env.PASSKEY_AAGUIDS ? listOf(env.PASSKEY_AAGUIDS) : defaults.aaguids).map((aaguid) => aaguid.toLowerCase());
  for (const aaguid of aaguids) {
    if (!AAGUID.test(aaguid))
      throw new ConfigError(
        `PASSKEY_AAGUIDS (policy.passkeys.aaguids) lists "${aaguid.slice(0, 40)}", which is not an AAGUID like cb69481e-8ff7-4039-93ec-0a2729a154a8`,
      );
  }
  const rootFiles = env.PASSKEY_ROOTS ? listOf(env.PASSKEY_ROOTS) : defaults.roots;
  const statementFiles = env.PASSKEY_METADATA_STATEMENTS ? listOf(env.PASSKEY_METADATA_STATEMENTS) : defaults.metadataStatements;
  const roots = rootFiles.flatMap((file) => readRootCertificates("PASSKEY_ROOTS (policy.passkeys.roots)", file, dataDir));
  const statements = statementFiles.flatMap((file) =>
    readMetadataStatements("PASSKEY_METADATA_STATEMENTS (policy.passkeys.metadataStatements)", file, dataDir),
  );
  // Without anchors no attestation could verify: every covered registration would be refused.
  if (attestation === "direct" && roots.length === 0 && statements.length === 0)
    throw new ConfigError(
      "PASSKEY_ATTESTATION (policy.passkeys.attestation) is direct but neither PASSKEY_ROOTS (policy.passkeys.roots) nor PASSKEY_METADATA_STATEMENTS (policy.passkeys.metadataStatements) names a file to verify attestations with",
    );
  const makers = roots.map((pem) => {
    const subject = new X509Certificate(pem).subject;
    return /^O=(.+)$/m.exec(subject)?.[1] ?? /^CN=(.+)$/m.exec(subject)?.[1] ?? "";
  });
  const allowed = statements.filter((statement) => aaguids.length === 0 || aaguids.includes(statement.aaguid));
  const approved = [...new Set([...allowed.map((statement) => statement.description), ...makers].filter(Boolean))].join(", ");
  return Object.freeze({
    attestation,
    appliesTo: appliesTo as PasskeyPolicy["appliesTo"],
    approved,
    roots: Object.freeze(roots),
    statements: Object.freeze(statements),
    aaguids: Object.freeze([...new Set(aaguids)]),
  });
}

/** LANGUAGES (comma-separated) and DEFAULT_LANGUAGE override `languages.offered` and `languages.default`. */
function parseLanguages(env: Env, defaults: Defaults["languages"]): Config["languages"] {
  const known = CATALOG_LANGUAGES.join(", ");
  const offered = env.LANGUAGES ? env.LANGUAGES.split(",").map((language) => language.trim().toLowerCase()) : defaults.offered;
  for (const language of offered) {
    if (!(CATALOG_LANGUAGES as readonly string[]).includes(language)) {
      throw new ConfigError(`LANGUAGES (languages.offered) lists "${language.slice(0, 20)}", which has no catalog (known: ${known})`);
    }
  }
  const fallback = (env.DEFAULT_LANGUAGE || defaults.default).trim().toLowerCase();
  if (!offered.includes(fallback)) {
    throw new ConfigError(`DEFAULT_LANGUAGE (languages.default) must be one of the offered languages ${offered.join(", ")} (got "${fallback.slice(0, 20)}")`);
  }
  return Object.freeze({ offered: Object.freeze([...new Set(offered)] as Language[]), default: fallback as Language });
}

function parseBranding(env: Env, defaults: Defaults["branding"], dataDir: string, rpName: string): Branding {
  const siteName = (env.BRAND_NAME || defaults.siteName || rpName).trim();
  if (siteName.length === 0 || siteName.length > 60 || CONTROL.test(siteName)) {
    throw new ConfigError(
      `BRAND_NAME (branding.siteName) must be 1 to 60 characters without control characters (got ${JSON.stringify(siteName.slice(0, 80))})`,
    );
  }
  const rawLogo = env.BRAND_LOGO || defaults.logo;
  let logo: BrandLogo | null = null;
  if (rawLogo && /^https?:/i.test(rawLogo)) {
    let url: URL;
    try {
      url = new URL(rawLogo);
    } catch {
      throw new ConfigError(`BRAND_LOGO (branding.logo) is not a URL (got "${rawLogo.slice(0, 80)}")`);
    }
    if (url.protocol !== "https:" || url.username || url.password)
      throw new ConfigError(`BRAND_LOGO (branding.logo) must be an https URL without credentials, or a file (got "${rawLogo.slice(0, 80)}")`);
    logo = { url: url.href };
  } else if (rawLogo) {
    const type = LOGO_TYPES[extname(rawLogo).toLowerCase()];
    if (!type)
      throw new ConfigError(`BRAND_LOGO (branding.logo) must be a .png, .jpg, .gif, .webp or .svg file, or an https URL (got "${rawLogo.slice(0, 80)}")`);
    const file = brandFile("BRAND_LOGO (branding.logo)", rawLogo, dataDir, MAX_LOGO_BYTES);
    assertBrandFileContent("BRAND_LOGO (branding.logo)", file, type);
    logo = { file, type };
  }
  const accentColor = env.BRAND_ACCENT_COLOR || defaults.accentColor;
  if (accentColor && !/^#[0-9a-fA-F]{6}$/.test(accentColor)) {
    throw new ConfigError(`BRAND_ACCENT_COLOR (branding.accentColor) must be a colour like #2454d6 (got "${accentColor.slice(0, 40)}")`);
  }
  const rawCss = env.BRAND_CSS || defaults.extraCss;
  if (rawCss && extname(rawCss).toLowerCase() !== ".css")
    throw new ConfigError(`BRAND_CSS (branding.extraCss) must be a .css file (got "${rawCss.slice(0, 80)}")`);
  const extraCss = rawCss ? brandFile("BRAND_CSS (branding.extraCss)", rawCss, dataDir, MAX_CSS_BYTES) : null;
  if (extraCss) assertBrandFileContent("BRAND_CSS (branding.extraCss)", extraCss, "text/css");
  return Object.freeze({ siteName, logo, accentColor: accentColor || null, extraCss });
}

export function loadDefaults(path = join(PROJECT_ROOT, "config/default.json")): Defaults {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`${path} could not be read as JSON (${(error as Error).message})`);
  }
  const parsed = defaultsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue?.path.join(".")} ${issue?.message}`);
  }
  return parsed.data;
}

/** Builds the validated, frozen configuration. Throws ConfigError naming the first bad setting. */
export function loadConfig(env: Env = process.env, defaults: Defaults = loadDefaults()): Config {
  const production = env.NODE_ENV === "production";
  const port = parsePort(env.PORT);
  const issuer = parseIssuer(env.ISSUER || `http://localhost:${port}`, production);
  const logLevel = env.LOG_LEVEL || "info";
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got "${logLevel}")`);
  const proxies = parseTrustProxy(env.TRUST_PROXY);
  const dataDir = resolve(process.cwd(), env.DATA_DIR || "./data");

  const { sessionIdleSeconds, sessionAbsoluteSeconds, keepSignedInSeconds } = defaults.ttl;
  if (sessionIdleSeconds > sessionAbsoluteSeconds || sessionAbsoluteSeconds > keepSignedInSeconds) {
    throw new ConfigError("config ttl: sessionIdleSeconds ≤ sessionAbsoluteSeconds ≤ keepSignedInSeconds must hold");
  }
  if (defaults.ttl.refreshTokenIdleSeconds > defaults.ttl.refreshTokenAbsoluteSeconds) {
    throw new ConfigError("config ttl.refreshTokenIdleSeconds must not exceed ttl.refreshTokenAbsoluteSeconds");
  }

  // A key that signed before every relying party's cached JWKS ran out would fail their verification.
  if (defaults.keys.publishDelaySeconds <= defaults.keys.jwksMaxAgeSeconds) {
    throw new ConfigError(
      `config keys.publishDelaySeconds must be longer than keys.jwksMaxAgeSeconds (got ${defaults.keys.publishDelaySeconds} ≤ ${defaults.keys.jwksMaxAgeSeconds})`,
    );
  }

  if (defaults.throttle.passwordFailuresPerAccountUnknownDevices < defaults.throttle.passwordFailuresPerAccount) {
    throw new ConfigError(
      "config throttle.passwordFailuresPerAccountUnknownDevices must be at least throttle.passwordFailuresPerAccount (it is shared by every unknown device)",
    );
  }

  const webauthn = parseWebauthn(env, issuer, production);
  const databaseUrl = parseDatabaseUrl(env.DATABASE_URL);
  const customScopes = parseCustomScopes(env.CUSTOM_SCOPES, defaults.claimsByScope);
  const branding = parseBranding(env, defaults.branding, dataDir, webauthn.rpName);
  const policy = Object.freeze({ minimumAcr: defaults.policy.minimumAcr, passkeys: parsePasskeyPolicy(env, defaults.policy.passkeys, dataDir) });
  const config: Config = Object.freeze({
    ...defaults,
    claimsByScope: { ...defaults.claimsByScope, ...customScopes },
    policy,
    customScopes,
    production,
    port,
    host: env.HOST || (production ? "0.0.0.0" : "localhost"),
    issuer,
    secureCookies: issuer.startsWith("https:"),
    dataDir,
    databaseUrl,
    secretKey: parseSecretKey(readSecret(env, "SECRET_KEY"), production),
    logLevel,
    ...proxies,
    webauthn,
    mail: parseMail(env, dataDir, issuer, branding.siteName, production),
    branding,
    languages: parseLanguages(env, defaults.languages),
    metricsToken: parseMetricsToken(readSecret(env, "METRICS_TOKEN")),
    resourceServers: Object.freeze(parseResourceServers(env.RESOURCE_SERVERS, production)),
    workers: parseWorkers(env.WORKERS, databaseUrl === null),
  });
  assertTlsReachable(config);
  return config;
}

/**
 * The server speaks only plain HTTP, so an https issuer's Secure cookies work only when a trusted
 * proxy reports the TLS it terminated (X-Forwarded-Proto); without one every page fails.
 */
function assertTlsReachable(config: Config): void {
  if (config.production && config.secureCookies && !config.trustProxy) {
    throw new ConfigError(
      `ISSUER is https (${config.issuer}) but TRUST_PROXY is not set: this server speaks only plain HTTP; run it behind a TLS-terminating reverse proxy and set TRUST_PROXY`,
    );
  }
}
