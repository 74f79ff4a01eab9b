import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import type { TestServer } from "./test-server.js";

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** The first link in the body to the IdP, if any. */
  link: string | null;
}

/** Every mail the server wrote to its development outbox (DATA_DIR/outbox/*.eml), oldest first, after queued mails went out. */
export async function readOutbox(server: TestServer): Promise<Mail[]> {
  await server.services.tasks.drain();
  const dir = server.config.mail.outboxDir;
  const files = (await readdir(dir).catch(() => [] as string[])).filter((file) => file.endsWith(".eml")).sort();
  return Promise.all(
    files.map(async (file) => {
      const parsed = await simpleParser(await readFile(join(dir, file)));
      const to = Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text;
      const text = parsed.text ?? "";
      return { to: to ?? "", subject: parsed.subject ?? "", text, link: text.match(new RegExp(`${server.issuer}/\\S+`))?.[0] ?? null };
    }),
  );
}

/** The mails to one address, oldest first. */
export async function mailsTo(server: TestServer, address: string): Promise<Mail[]> {
  return (await readOutbox(server)).filter((mail) => mail.to === address);
}
