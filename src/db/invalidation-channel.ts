import pg from "pg";
import type { Invalidation, InvalidationChannel } from "../cluster/invalidation-bus.js";
import type { Logger } from "../logger.js";
import { INVALIDATION_CHANNEL, notificationOf } from "./hot-payloads.js";
import type { Db } from "./open-database.js";

const CHANNEL = INVALIDATION_CHANNEL;

/** Tells every server process on this PostgreSQL database what changed (NOTIFY, on the ordinary pool). */
export function notifyChannel(db: Db, origin: string): InvalidationChannel {
  return {
    async publish(message) {
      await db.$executeRaw`SELECT pg_notify(${CHANNEL}, ${notificationOf(message, origin)})`;
    },
  };
}

/**
 * Hears the other processes' invalidations (LISTEN on a dedicated connection). While that
 * connection is down `onAvailability(false)` turns the cache off, and it is retried every second.
 */
export async function listenForInvalidations(
  databaseUrl: string,
  handlers: { onMessage(message: Invalidation): void; onAvailability(available: boolean): void },
  logger: Logger,
  /** This process's `origin` (notifyChannel, hot-payloads.ts): its own messages, applied when sent, are skipped. */
  origin: string,
): Promise<{ close(): Promise<void> }> {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const scheduleRetry = () => {
    if (!closed) retry = setTimeout(() => void connect(), 1000);
  };

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on("notification", (notification) => {
      try {
        const { from, ...message } = JSON.parse(notification.payload ?? "") as Invalidation & { from?: string };
        if (from !== origin) handlers.onMessage(message as Invalidation);
      } catch {
        logger.warn("ignored a malformed cache invalidation");
      }
    });
    next.on("error", (error) => {
      logger.warn({ err: error }, "cache invalidation listener lost; caching off until it is back");
      handlers.onAvailability(false);
      client = null;
      next.end().catch(() => {});
      scheduleRetry();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      client = next;
      handlers.onAvailability(true);
    } catch (error) {
      logger.warn({ err: error }, "cache invalidation listener could not connect; caching off");
      next.end().catch(() => {});
      scheduleRetry();
    }
  }

  handlers.onAvailability(false);
  await connect();

  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end();
    },
  };
}
