import { userInfo } from "node:os";
import type { Actor } from "../audit/audit-log.js";

/** The audit log's "who" for CLI changes: the operating-system account that ran the command. */
export function cliActor(): Actor {
  let name = "unknown";
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (some containers): the audit record still says the CLI did it.
  }
  return { actor: `cli:${name}`, ip: null };
}
