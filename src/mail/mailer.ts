import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type { MailConfig } from "../config.js";
import type { Logger } from "../logger.js";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** What the mail is for (e.g. "sign_up_link"), for the log line; never the address or the body. */
  kind: string;
}

export interface Mailer {
  /** Resolves once the message is handed to the SMTP server (or written to the outbox). */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

const ADDRESS = /[^\s<>"'@]+@[^\s<>"'@]+/g;

/**
 * A delivery failure as the logs may keep it: SMTP servers quote the recipient ("550 <bob@…>:
 * Recipient address rejected"), and an address is personal data the log does not need.
 */
function withoutAddresses(error: unknown, kind: string): Error {
  const failure = error as { message?: string; code?: string; responseCode?: number; command?: string };
  const scrubbed = new Error(`${kind} mail could not be sent: ${(failure.message ?? "unknown error").replace(ADDRESS, "[address]")}`);
  return Object.assign(scrubbed, { code: failure.code, responseCode: failure.responseCode, command: failure.command });
}

/**
 * nodemailer over SMTP in production; in development every message becomes one `.eml` file under
 * DATA_DIR/outbox/, readable by people (any mail client opens it) and by tests.
 */
export function createMailer(config: MailConfig, logger: Logger): Mailer {
  const transport = config.smtpUrl
    ? nodemailer.createTransport(config.smtpUrl)
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });

  let written = 0;
  return {
    async send({ to, subject, text, kind }) {
      const info = await transport.sendMail({ from: config.from, to, subject, text }).catch((error: unknown) => {
        throw withoutAddresses(error, kind);
      });
      if (!config.smtpUrl) {
        await mkdir(config.outboxDir, { recursive: true, mode: 0o700 });
        // Sorted by name in the order written (two mails can share a millisecond); the links inside
        // are live, so only the owner may read them.
        written += 1;
        const stamp = `${new Date().toISOString().replace(/[:.]/g, "-")}-${String(written).padStart(6, "0")}`;
        const file = join(config.outboxDir, `${stamp}-${randomUUID()}.eml`);
        await writeFile(file, (info as { message: Buffer }).message, { mode: 0o600 });
        logger.info({ kind, file }, "mail written to the outbox");
        return;
      }
      logger.info({ kind, messageId: info.messageId }, "mail sent");
    },
    close: () => transport.close(),
  };
}
