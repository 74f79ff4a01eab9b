import pino, { type DestinationStream, type Logger } from "pino";

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // pid: which of the WORKERS processes wrote the line.
  const options = { level, redact: { paths: REDACT, censor: "[redacted]" }, base: { service: "idp", pid: process.pid } };
  return destination ? pino(options, destination) : pino(options);
}
