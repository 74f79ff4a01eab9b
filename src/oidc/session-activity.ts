import type Provider from "oidc-provider";
import type { BackgroundTasks } from "../background-tasks.js";
import type { SessionDeviceQueries } from "../db/session-devices.js";

/**
 * Every successful authorization (interactive or silent) is a use of the IdP session: record the
 * device and IP it came from. A failure to record is logged and never fails the sign-in.
 */
export function recordSessionActivity(provider: Provider, devices: SessionDeviceQueries, tasks: Pick<BackgroundTasks, "run">): void {
  provider.on("authorization.success", (ctx) => {
    const session = ctx.oidc.session;
    if (!session?.uid || !session.accountId) return;
    const { uid, accountId } = session;
    const [userAgent, ip, at] = [ctx.get("User-Agent"), ctx.ip, new Date()];
    // After the answer, and drained at shutdown (a failure is logged by the task runner).
    tasks.run("session activity", () => devices.recordSessionUse(uid, accountId, userAgent, ip, at).then(() => undefined));
  });
}
