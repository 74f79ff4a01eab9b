import type Provider from "oidc-provider";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { BackgroundTasks } from "../background-tasks.js";
import type { SessionDeviceQueries } from "../db/session-devices.js";

const handsOverLogin = (result: unknown) => Boolean((result as { login?: unknown } | undefined)?.login);

/**
 * Every use of the IdP session records the device and IP it came from, once per authorization: when
 * it succeeds (interactive or silent), or earlier when a sign-in (or sign-up) is handed to the
 * session and another step (consent) follows in a new interaction. The session is live from that
 * moment, on the account page's list too, before any authorization through it has completed. A
 * failure to record is logged and never fails the sign-in.
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
  // This request handed a login over and starts the next step: the session exists from now on.
  provider.on("interaction.started", (ctx: KoaContextWithOIDC) => {
    if (handsOverLogin(ctx.oidc.result)) record(ctx);
  });
  provider.on("authorization.success", (ctx: KoaContextWithOIDC) => {
    // Already recorded when the login of this authorization was handed over (its result is this interaction's lastSubmission).
    if (handsOverLogin((ctx.oidc.entities.Interaction as { lastSubmission?: unknown } | undefined)?.lastSubmission)) return;
    record(ctx);
  });
}
