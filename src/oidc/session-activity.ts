import type Provider from "oidc-provider";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { BackgroundTasks } from "../background-tasks.js";
import type { SessionDeviceQueries } from "../db/session-devices.js";

/**
 * Every use of the IdP session records the device and IP it came from: each successful
 * authorization (interactive or silent), and the moment an interaction hands its sign-in to the
 * session (`interaction.ended`, on resume). The latter is the session's creation, which can come
 * well before its first authorization: a sign-up (or sign-in) waiting on the consent page already
 * has a live session on the account page's list. A failure to record is logged and never fails
 * the sign-in.
 */
export function recordSessionActivity(provider: Provider, devices: SessionDeviceQueries, tasks: Pick<BackgroundTasks, "run">): void {
  const record = (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc.session;
    if (!session?.uid || !session.accountId) return;
    const { uid, accountId } = session;
    const [userAgent, ip, at] = [ctx.get("User-Agent"), ctx.ip, new Date()];
    // After the answer, and drained at shutdown (a failure is logged by the task runner).
    tasks.run("session activity", () => devices.recordSessionUse(uid, accountId, userAgent, ip, at).then(() => undefined));
  };
  provider.on("interaction.ended", record);
  provider.on("authorization.success", record);
}
