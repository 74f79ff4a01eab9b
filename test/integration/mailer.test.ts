import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/logger.js";
import { createMailer } from "../../src/mail/mailer.js";
import { freePort } from "../helpers/test-server.js";

const logger = createLogger("silent");
const message = {
  to: "someone@example.com",
  subject: "Hello",
  text: `A long line with a link: https://id.example.com/signup/verify?token=${"x".repeat(43)}`,
  kind: "test",
};

describe("mailer", () => {
  describe("over SMTP (SMTP_URL)", () => {
    let server: SMTPServer;
    let port: number;
    const received: { from: string; to: string[]; raw: Buffer; user?: string }[] = [];

    beforeAll(async () => {
      port = await freePort();
      server = new SMTPServer({
        disabledCommands: ["STARTTLS"],
        allowInsecureAuth: true,
        authOptional: true,
        logger: false,
        onAuth(auth, _session, callback) {
          if (auth.username === "idp" && auth.password === "s3cret") return callback(null, { user: "idp" });
          return callback(new Error("bad credentials"));
        },
        onRcptTo(address, _session, callback) {
          if (address.address.startsWith("unknown"))
            return callback(Object.assign(new Error(`<${address.address}>: Recipient address rejected`), { responseCode: 550 }));
          callback();
        },
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("end", () => {
            received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks),
              user: session.user as string | undefined,
            });
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("delivers with the credentials from the URL and the configured sender", async () => {
      const mailer = createMailer(
        { smtpUrl: `smtp://idp:s3cret@127.0.0.1:${port}`, outboxDir: "/nonexistent", from: "Example ID <no-reply@id.example.com>" },
        logger,
      );
      await mailer.send(message);
      mailer.close();
      const last = received.at(-1);
      expect(last).toMatchObject({ from: "no-reply@id.example.com", to: ["someone@example.com"], user: "idp" });
      const parsed = await simpleParser(last?.raw as Buffer);
      expect(parsed.subject).toBe("Hello");
      expect(parsed.text?.trim()).toBe(message.text);
    });

    it("keeps recipient addresses out of a refused delivery's error (it ends up in the log)", async () => {
      const mailer = createMailer({ smtpUrl: `smtp://idp:s3cret@127.0.0.1:${port}`, outboxDir: "/nonexistent", from: "no-reply@id.example.com" }, logger);
      const failure = (await mailer.send({ ...message, to: "unknown.person@example.com" }).catch((error: unknown) => error)) as Error & {
        responseCode?: number;
      };
      mailer.close();
      expect(failure.message).toContain("test mail could not be sent");
      expect(failure.message).toContain("[address]");
      expect(failure.responseCode).toBe(550);
      expect(JSON.stringify({ ...failure, message: failure.message, stack: failure.stack })).not.toContain("unknown.person");
    });

    it("fails the send (for the caller to log) when the server refuses", async () => {
      const mailer = createMailer({ smtpUrl: `smtp://idp:wrong@127.0.0.1:${port}`, outboxDir: "/nonexistent", from: "no-reply@id.example.com" }, logger);
      await expect(mailer.send(message)).rejects.toThrow();
      mailer.close();
    });
  });

  describe("into the development outbox", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "idp-outbox-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("writes one .eml per message, named in the order sent, readable only by the owner", async () => {
      const outboxDir = join(dir, "outbox");
      const mailer = createMailer({ smtpUrl: null, outboxDir, from: "no-reply@localhost" }, logger);
      // All in one millisecond (the clock stands still), as two mails sent together may be.
      const subjects = ["Hello", ...Array.from({ length: 19 }, (_, index) => `Message ${index + 2}`)];
      vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-12-01T12:00:00.000Z") });
      try {
        for (const subject of subjects) await mailer.send({ ...message, subject });
      } finally {
        vi.useRealTimers();
      }
      const files = readdirSync(outboxDir).sort();
      expect(files).toHaveLength(subjects.length);
      expect(files.every((file) => file.endsWith(".eml"))).toBe(true);
      // The mails hold live links.
      expect(files.every((file) => (statSync(join(outboxDir, file)).mode & 0o077) === 0)).toBe(true);
      const first = await simpleParser(readFileSync(join(outboxDir, files[0] as string)));
      expect(first.text?.trim()).toBe(message.text);
      const inNameOrder = await Promise.all(files.map(async (file) => (await simpleParser(readFileSync(join(outboxDir, file)))).subject));
      expect(inNameOrder).toEqual(subjects);
    });
  });
});
