import pino, { type Logger } from "pino";

export type { Logger };

// Secrets travel in these places; pino replaces them before anything is written.
const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "*.password",
  "*.client_secret",
  "*.code",
  "*.refresh_token",
  "*.access_token",
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[redacted]" }, base: { service: "idp" } });
}
