import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, loadDefaults } from "../../src/config.js";

const SECRET = Buffer.alloc(32, 7).toString("base64url");

describe("loadConfig", () => {
  it("defaults to a local development setup", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, issuer: "http://localhost:3000", production: false, secureCookies: false, databaseUrl: null, secretKey: null });
    expect(config.dataDir).toMatch(/\/data$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("derives the issuer from PORT and turns on secure cookies for https", () => {
    expect(loadConfig({ PORT: "4000" }).issuer).toBe("http://localhost:4000");
    expect(loadConfig({ ISSUER: "https://id.example.com/" })).toMatchObject({ issuer: "https://id.example.com", secureCookies: true });
  });

  it.each([
    [{ PORT: "70000" }, "PORT must be an integer"],
    [{ PORT: "abc" }, "PORT must be an integer"],
    [{ ISSUER: "not a url" }, "ISSUER must be an absolute URL"],
    [{ ISSUER: "http://id.example.com" }, "ISSUER must be an https URL"],
    [{ ISSUER: "https://id.example.com/tenant" }, "ISSUER must not have a path"],
    [{ ISSUER: "https://id.example.com/?a=b" }, "must not contain a query"],
    [{ ISSUER: "ftp://id.example.com" }, "ISSUER must be an https URL"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL must be a postgres://"],
    [{ SECRET_KEY: "c2hvcnQ" }, "SECRET_KEY must be at least 32 random bytes"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL must be one of"],
    [{ TRUST_PROXY: "yes" }, "TRUST_PROXY must be true, false, a number of proxy hops"],
    [{ TRUST_PROXY: "11" }, "TRUST_PROXY must be at most 10 hops"],
    [{ TRUST_PROXY: "00" }, "TRUST_PROXY must be a whole number of proxy hops from 1"],
    [{ TRUST_PROXY: "10.0.0.0/33" }, "TRUST_PROXY must be true, false, a number of proxy hops"],
    [{ TRUST_PROXY: "10.0.0.1,,10.0.0.2" }, "TRUST_PROXY must be true, false, a number of proxy hops"],
    [{ NODE_ENV: "production", ISSUER: "https://id.example.com" }, "SECRET_KEY (or SECRET_KEY_FILE) is required"],
    [{ NODE_ENV: "production", ISSUER: "http://localhost:3000", SECRET_KEY: SECRET }, "ISSUER must be an https URL"],
    [{ SECRET_KEY_FILE: "/does/not/exist" }, "SECRET_KEY_FILE could not be read"],
    [{ ISSUER: "https://id.example.com", WEBAUTHN_RP_ID: "other.example" }, "WEBAUTHN_RP_ID must be the ISSUER's host or a parent domain"],
    [{ ISSUER: "https://id.example.com", WEBAUTHN_RP_ID: "ample.com" }, "WEBAUTHN_RP_ID must be the ISSUER's host or a parent domain"],
    [{ ISSUER: "https://id.example.com", WEBAUTHN_ORIGINS: "https://192.0.2.7" }, "is neither on WEBAUTHN_RP_ID"],
    [
      {
        ISSUER: "https://id.example.com",
        WEBAUTHN_ORIGINS: "https://a.one.com,https://two.com,https://three.co.uk,https://four.net,https://five.org,https://six.io",
      },
      "related origins on 6 different domain labels (one, two, three, four, five, six); browsers accept at most 5",
    ],
    [{ ISSUER: "https://id.example.com", WEBAUTHN_ORIGINS: "http://id.example.com" }, "must be https origins"],
    [{ ISSUER: "https://id.example.com", WEBAUTHN_ORIGINS: "https://id.example.com/path" }, "must be https origins"],
    [{ NODE_ENV: "production", ISSUER: "https://id.example.com", SECRET_KEY: SECRET }, "SMTP_URL (or SMTP_URL_FILE) is required"],
    [
      { NODE_ENV: "production", ISSUER: "https://id.example.com", SECRET_KEY: SECRET, SMTP_URL: "smtps://idp:pw@mail.example.com:465" },
      "ISSUER is https (https://id.example.com) but TRUST_PROXY is not set: this server speaks only plain HTTP",
    ],
    [{ SMTP_URL: "mail.example.com:25" }, "SMTP_URL must be an smtp:// or smtps:// URL"],
    [{ MAIL_FROM: "no address here" }, "MAIL_FROM must be an address"],
    [{ METRICS_TOKEN: "short" }, "METRICS_TOKEN must be at least 32 characters"],
    [{ RESOURCE_SERVERS: "api.example.com" }, "RESOURCE_SERVERS must list absolute https URIs"],
    [{ RESOURCE_SERVERS: "https://api.example.com http://api.example.com" }, "RESOURCE_SERVERS must list absolute https URIs"],
    [{ RESOURCE_SERVERS: "https://api.example.com/#x" }, "RESOURCE_SERVERS must list absolute https URIs"],
    [{ RESOURCE_SERVERS: "https://user:pw@api.example.com" }, "RESOURCE_SERVERS must list absolute https URIs"],
    [{ MAIL_FROM: "Evil\r\nBcc: x@example.com <a@example.com>" }, "MAIL_FROM must be an address"],
    [{ WORKERS: "0" }, 'WORKERS must be a whole number from 1 to 32 (got "0")'],
    [{ WORKERS: "-1" }, 'WORKERS must be a whole number from 1 to 32 (got "-1")'],
    [{ WORKERS: "abc" }, 'WORKERS must be a whole number from 1 to 32 (got "abc")'],
    [{ WORKERS: "1.5", DATABASE_URL: "postgres://db/idp" }, "WORKERS must be a whole number from 1 to 32"],
    [{ WORKERS: "02", DATABASE_URL: "postgres://db/idp" }, "WORKERS must be a whole number from 1 to 32"],
    [{ WORKERS: "33", DATABASE_URL: "postgres://db/idp" }, "WORKERS must be a whole number from 1 to 32"],
    [{ WORKERS: "2" }, "WORKERS must be 1 with the embedded database"],
  ])("refuses %j naming the setting", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("runs WORKERS processes: by default one on the embedded database and one per core on PostgreSQL", () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: "1" }).workers).toBe(1);
    expect(loadConfig({ DATABASE_URL: "postgres://db/idp" }).workers).toBe(Math.min(availableParallelism(), 32));
    expect(loadConfig({ DATABASE_URL: "postgres://db/idp", WORKERS: "4" }).workers).toBe(4);
  });

  it("reads TRUST_PROXY as no proxy, a number of hops (true: one), or a list of proxy addresses (§32)", () => {
    const proxies = (value?: string) => {
      const { trustProxy, proxyHops, trustedProxies } = loadConfig(value === undefined ? {} : { TRUST_PROXY: value });
      return { trustProxy, proxyHops, trustedProxies };
    };
    expect(proxies()).toEqual({ trustProxy: false, proxyHops: 0, trustedProxies: [] });
    expect(proxies("false")).toEqual({ trustProxy: false, proxyHops: 0, trustedProxies: [] });
    expect(proxies("true")).toEqual({ trustProxy: true, proxyHops: 1, trustedProxies: [] });
    expect(proxies("2")).toEqual({ trustProxy: true, proxyHops: 2, trustedProxies: [] });
    expect(proxies("10.0.0.0/8, 192.0.2.7,loopback")).toEqual({ trustProxy: true, proxyHops: 0, trustedProxies: ["10.0.0.0/8", "192.0.2.7", "loopback"] });
  });

  it("reads RESOURCE_SERVERS as a list of resource indicators, exactly as written (none by default)", () => {
    expect(loadConfig({}).resourceServers).toEqual([]);
    expect(loadConfig({ RESOURCE_SERVERS: "https://api.example.com, https://orders.example.com/v1 https://api.example.com" }).resourceServers).toEqual([
      "https://api.example.com",
      "https://orders.example.com/v1",
    ]);
    expect(loadConfig({ RESOURCE_SERVERS: "http://localhost:4000" }).resourceServers).toEqual(["http://localhost:4000"]);
  });

  it("refuses an unknown-device password ceiling below the per-device allowance, naming both settings", () => {
    const defaults = loadDefaults();
    const throttle = { ...defaults.throttle, passwordFailuresPerAccount: 10, passwordFailuresPerAccountUnknownDevices: 5 };
    expect(() => loadConfig({}, { ...defaults, throttle })).toThrow(
      "throttle.passwordFailuresPerAccountUnknownDevices must be at least throttle.passwordFailuresPerAccount",
    );
    expect(loadConfig({}).throttle).toMatchObject({ passwordFailuresPerAccount: 10, passwordFailuresPerAccountUnknownDevices: 50 });
  });

  it("refuses a key publish delay not longer than the JWKS cache lifetime relying parties are told", () => {
    const defaults = loadDefaults();
    expect(() => loadConfig({}, { ...defaults, keys: { jwksMaxAgeSeconds: 600, publishDelaySeconds: 600 } })).toThrow(
      "keys.publishDelaySeconds must be longer than keys.jwksMaxAgeSeconds",
    );
    expect(loadConfig({}).keys).toEqual({ jwksMaxAgeSeconds: 600, publishDelaySeconds: 660 });
  });

  it.each([
    [{ maxInFlight: 0 }, "load.maxInFlight"],
    [{ maxQueued: -1 }, "load.maxQueued"],
    [{ maxQueueWaitMs: 0 }, "load.maxQueueWaitMs"],
  ])("refuses a load-shedding setting out of range, naming it (%o)", (change, setting) => {
    const raw = JSON.parse(readFileSync(join(import.meta.dirname, "../../config/default.json"), "utf8"));
    const path = join(mkdtempSync(join(tmpdir(), "idp-config-")), "default.json");
    writeFileSync(path, JSON.stringify({ ...raw, load: { ...raw.load, ...change } }));
    expect(() => loadDefaults(path)).toThrow(ConfigError);
    expect(() => loadDefaults(path)).toThrow(setting);
  });

  it("offers the catalog languages, narrowed by LANGUAGES, with DEFAULT_LANGUAGE among them; refuses others naming the setting", () => {
    expect(loadConfig({}).languages).toEqual({ offered: ["en", "de", "fr"], default: "en" });
    expect(loadConfig({ LANGUAGES: " FR, en,fr", DEFAULT_LANGUAGE: "fr" }).languages).toEqual({ offered: ["fr", "en"], default: "fr" });
    expect(() => loadConfig({ LANGUAGES: "en,it" })).toThrow('LANGUAGES (languages.offered) lists "it", which has no catalog (known: en, de, fr)');
    expect(() => loadConfig({ LANGUAGES: "en", DEFAULT_LANGUAGE: "de" })).toThrow(
      "DEFAULT_LANGUAGE (languages.default) must be one of the offered languages en",
    );
    expect(() => loadConfig({ LANGUAGES: "en\u0000" })).toThrow(ConfigError);
  });

  it("derives WebAuthn settings from the issuer, or takes a parent-domain RP ID", () => {
    expect(loadConfig({}).webauthn).toEqual({ rpId: "localhost", rpName: "localhost", origins: ["http://localhost:3000"], relatedOrigins: [] });
    const config = loadConfig({
      ISSUER: "https://id.example.com",
      WEBAUTHN_RP_ID: "example.com",
      WEBAUTHN_ORIGINS: "https://id.example.com,https://login.example.com",
    });
    expect(config.webauthn).toMatchObject({ rpId: "example.com", origins: ["https://id.example.com", "https://login.example.com"] });
  });

  it("accepts a production configuration", () => {
    const config = loadConfig({
      NODE_ENV: "production",
      ISSUER: "https://id.example.com",
      TRUST_PROXY: "true",
      SECRET_KEY: SECRET,
      DATABASE_URL: "postgres://u:p@db/idp",
      SMTP_URL: "smtps://idp:pw@mail.example.com:465",
    });
    expect(config).toMatchObject({ production: true, host: "0.0.0.0", databaseUrl: "postgres://u:p@db/idp" });
    expect(config.mail).toEqual({
      smtpUrl: "smtps://idp:pw@mail.example.com:465",
      outboxDir: expect.stringMatching(/\/data\/outbox$/),
      from: '"id.example.com" <no-reply@id.example.com>',
    });
    expect(config.secretKey?.length).toBe(32);
  });
});

describe("CUSTOM_SCOPES", () => {
  it("adds the operator's scopes and their claims to the ones the IdP releases", () => {
    const config = loadConfig({ CUSTOM_SCOPES: " nextcloud=quota,nc_roles  grafana=grafana_role " });
    expect(config.customScopes).toEqual({ nextcloud: ["quota", "nc_roles"], grafana: ["grafana_role"] });
    expect(config.claimsByScope).toMatchObject({ nextcloud: ["quota", "nc_roles"], grafana: ["grafana_role"], groups: ["groups"] });
    expect(loadConfig({}).customScopes).toEqual({});
  });

  it.each([
    ["nextcloud", "names no claim"],
    ["nextcloud=", "names no claim"],
    ["Nextcloud=quota", "a scope name is"],
    ["a=b=c", "a scope name is"],
    ["email=quota", "built-in or repeated scope"],
    ["groups=quota", "built-in or repeated scope"],
    ["x=quota y=quota", 'claim "quota" is already filed under scope "x"'],
    ["x=a x=b", "built-in or repeated scope"],
    ["x=sub", '"sub" is a standard claim'],
    ["x=email_verified", '"email_verified" is a standard claim'],
    ["x=groups", '"groups" is a standard claim'],
    ["x=1abc", "a claim name is"],
    ["x=a\u0000b", "a claim name is"],
    ["x=constructor", "a name JavaScript objects already have"],
    ["x=__proto__", "a name JavaScript objects already have"],
    ["x=toString", "a name JavaScript objects already have"],
    ["x=hasOwnProperty", "a name JavaScript objects already have"],
    ["constructor=a", "a name JavaScript objects already have"],
  ])("refuses %j, naming the setting", (value, message) => {
    expect(() => loadConfig({ CUSTOM_SCOPES: value })).toThrow(ConfigError);
    expect(() => loadConfig({ CUSTOM_SCOPES: value })).toThrow(message);
    expect(() => loadConfig({ CUSTOM_SCOPES: value })).toThrow("CUSTOM_SCOPES:");
  });
});

describe("branding", () => {
  const dir = mkdtempSync(join(tmpdir(), "idp-brand-"));
  writeFileSync(join(dir, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
  writeFileSync(join(dir, "text.png"), "root:x:0:0:root:/root:/bin/bash\n");
  writeFileSync(join(dir, "logo.svg"), '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  writeFileSync(join(dir, "not.svg"), "#!/bin/sh\necho secret\n");
  writeFileSync(join(dir, "binary.css"), Buffer.from([0x62, 0x00, 0xff]));
  writeFileSync(join(dir, "extra.css"), "h1 { letter-spacing: 0.01em; }");
  writeFileSync(join(dir, "big.png"), Buffer.alloc(300 * 1024));

  it("defaults the site name to the passkeys' RP name, and takes the environment over config/", () => {
    expect(loadConfig({ WEBAUTHN_RP_NAME: "Example" }).branding).toEqual({ siteName: "Example", logo: null, accentColor: null, extraCss: null });
    const branded = loadConfig({
      DATA_DIR: dir,
      BRAND_NAME: " Acme ID ",
      BRAND_LOGO: "logo.png",
      BRAND_ACCENT_COLOR: "#0a7d33",
      BRAND_CSS: "extra.css",
    }).branding;
    expect(branded).toEqual({
      siteName: "Acme ID",
      logo: { file: join(dir, "logo.png"), type: "image/png" },
      accentColor: "#0a7d33",
      extraCss: join(dir, "extra.css"),
    });
    expect(loadConfig({ BRAND_LOGO: "https://cdn.example.com/logo.svg" }).branding.logo).toEqual({ url: "https://cdn.example.com/logo.svg" });
    expect(loadConfig({ DATA_DIR: dir, BRAND_LOGO: "logo.svg" }).branding.logo).toEqual({ file: join(dir, "logo.svg"), type: "image/svg+xml" });
  });

  it.each([
    [{ BRAND_NAME: "x".repeat(61) }, "BRAND_NAME (branding.siteName) must be 1 to 60 characters"],
    [{ BRAND_NAME: "a\nb" }, "BRAND_NAME (branding.siteName) must be 1 to 60 characters"],
    [{ BRAND_LOGO: "http://cdn.example.com/logo.png" }, "BRAND_LOGO (branding.logo) must be an https URL"],
    [{ BRAND_LOGO: "logo.bmp" }, "must be a .png, .jpg, .gif, .webp or .svg file"],
    [{ BRAND_LOGO: "missing.png" }, "BRAND_LOGO (branding.logo) names a file that cannot be read"],
    [{ BRAND_LOGO: "big.png" }, "BRAND_LOGO (branding.logo) is larger than 256 KiB"],
    [{ BRAND_ACCENT_COLOR: "red; } body { display: none" }, "BRAND_ACCENT_COLOR (branding.accentColor) must be a colour like #2454d6"],
    [{ BRAND_CSS: "nope.css" }, "BRAND_CSS (branding.extraCss) names a file that cannot be read"],
    [{ BRAND_CSS: "/etc/passwd" }, "BRAND_CSS (branding.extraCss) must be a .css file"],
    [{ BRAND_CSS: "binary.css" }, "BRAND_CSS (branding.extraCss) is not a CSS (UTF-8 text) file"],
    [{ BRAND_LOGO: "text.png" }, "BRAND_LOGO (branding.logo) is not a image/png file"],
    [{ BRAND_LOGO: "not.svg" }, "BRAND_LOGO (branding.logo) is not a image/svg+xml file"],
  ])("refuses %j, naming the setting", (env, message) => {
    expect(() => loadConfig({ DATA_DIR: dir, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir, ...env })).toThrow(message);
  });
});

describe("related origins (WebAuthn L3 §5.11)", () => {
  it("accepts origins on other registrable domains, up to five labels, and lists them apart", () => {
    const webauthn = loadConfig({
      ISSUER: "https://id.example.com",
      WEBAUTHN_RP_ID: "example.com",
      WEBAUTHN_ORIGINS: "https://id.example.com,https://shop.example.co.uk,https://example.de,https://login.other.net",
    }).webauthn;
    expect(webauthn.origins).toHaveLength(4);
    // example.co.uk and example.de share the label "example": two labels in all.
    expect(webauthn.relatedOrigins).toEqual(["https://shop.example.co.uk", "https://example.de", "https://login.other.net"]);
    expect(loadConfig({ ISSUER: "https://id.example.com" }).webauthn.relatedOrigins).toEqual([]);
  });
});
