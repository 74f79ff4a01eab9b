import type { Context } from "koa";
import { finishInteraction, type InteractionDetails } from "./interaction.js";
import type { InteractionDependencies } from "./routes.js";

const field = (body: unknown, name: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === "string" ? value : "";
};

/** Email + password sign-in (argon2id). Passkeys arrive with the passkey issue. */
export function loginStep({ provider, users, views }: InteractionDependencies) {
  function show(ctx: Context, details: InteractionDetails, extra: { email?: string; error?: string } = {}, status = 200) {
    const loginHint = typeof details.params.login_hint === "string" ? details.params.login_hint : "";
    views.render(ctx, "interactions/login", { title: "Sign in", uid: details.uid, email: extra.email ?? loginHint, error: extra.error }, status);
  }

  return {
    show: (ctx: Context, details: InteractionDetails) => show(ctx, details),

    async submit(ctx: Context, details: InteractionDetails) {
      const email = field(ctx.request.body, "email");
      const password = field(ctx.request.body, "password");
      // One message for unknown email and wrong password: no account enumeration.
      const accountId = email && password ? await users.verifyPassword(email, password) : null;
      if (!accountId) {
        show(ctx, details, { email, error: "That email and password do not match an account." }, 400);
        return;
      }
      await finishInteraction(ctx, provider, {
        login: { accountId, amr: ["pwd"], acr: "urn:idp:acr:password" },
      });
    },
  };
}
