import { isIP } from "node:net";

/** Coarse signals only (seed guidance: challenge suspicious requests, never lock out a changed network). */
export interface RiskSignals {
  /** A browser/OS not seen before here (by family, not the exact user-agent string). */
  newDevice: boolean;
  /** An IP prefix (IPv4 /16, IPv6 /48) not seen before here. */
  newNetwork: boolean;
  /** Failed password attempts on the account within the throttle window. */
  recentFailures: number;
}

const WEIGHTS = { newDevice: 40, newNetwork: 30, someFailures: 15, manyFailures: 30 } as const;

/** 0–100. With the default threshold (50) a new network alone or a new device alone passes; both together do not. */
export function riskScore(signals: RiskSignals): { score: number; reasons: string[] } {
  const reasons: string[] = [];
  let score = 0;
  if (signals.newDevice) {
    score += WEIGHTS.newDevice;
    reasons.push("new_device");
  }
  if (signals.newNetwork) {
    score += WEIGHTS.newNetwork;
    reasons.push("new_network");
  }
  if (signals.recentFailures >= 3) {
    score += WEIGHTS.manyFailures;
    reasons.push("recent_failures");
  } else if (signals.recentFailures > 0) {
    score += WEIGHTS.someFailures;
    reasons.push("recent_failures");
  }
  return { score, reasons };
}

/** The network an address belongs to, tolerant of address changes within a provider's block. */
export function networkOf(ip: string): string {
  const address = ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  if (isIP(address) === 4) return address.split(".").slice(0, 2).join(".");
  if (isIP(address) === 6) {
    const [head = "", tail = ""] = address.split("::");
    const groups = head.split(":").filter(Boolean);
    const missing = 8 - groups.length - tail.split(":").filter(Boolean).length;
    const full = [...groups, ...Array(Math.max(0, missing)).fill("0"), ...tail.split(":").filter(Boolean)];
    return full
      .slice(0, 3)
      .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ""))
      .join(":");
  }
  return address;
}
