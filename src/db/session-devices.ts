import type { Db } from "./open-database.js";

/** User agents are attacker-controlled text: kept, but bounded. */
const MAX_USER_AGENT = 512;

export function createSessionDeviceQueries(db: Db) {
  return {
    /** Records a use of a session: the first one also as its creation. */
    recordSessionUse(sessionUid: string, userId: string, userAgent: string, ip: string, at: Date) {
      const agent = userAgent.slice(0, MAX_USER_AGENT);
      return db.sessionDevice.upsert({
        where: { sessionUid },
        create: { sessionUid, userId, createdUserAgent: agent, createdIp: ip, lastUserAgent: agent, lastIp: ip, createdAt: at, lastSeenAt: at },
        update: { userId, lastUserAgent: agent, lastIp: ip, lastSeenAt: at },
      });
    },
    findSessionDevice: (sessionUid: string) => db.sessionDevice.findUnique({ where: { sessionUid } }),
    /** All of a user's session records, or all but `exceptSessionUid`. */
    deleteSessionDevicesOfUser: (userId: string, exceptSessionUid?: string) =>
      db.sessionDevice.deleteMany({ where: { userId, ...(exceptSessionUid ? { sessionUid: { not: exceptSessionUid } } : {}) } }),
    /** The devices of an account's sessions, most recently used first. */
    listSessionDevicesOfUser: (userId: string) => db.sessionDevice.findMany({ where: { userId }, orderBy: { lastSeenAt: "desc" } }),
    deleteSessionDevice: (userId: string, sessionUid: string) => db.sessionDevice.deleteMany({ where: { userId, sessionUid } }),
    deleteSessionDevicesNotSeenSince: (cutoff: Date) => db.sessionDevice.deleteMany({ where: { lastSeenAt: { lt: cutoff } } }),
  };
}

export type SessionDeviceQueries = ReturnType<typeof createSessionDeviceQueries>;
