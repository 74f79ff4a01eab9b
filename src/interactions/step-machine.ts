import type { Context, Middleware } from "koa";
import type Provider from "oidc-provider";
import { acrForMethods } from "../auth/assurance.js";
import type { SignInStepQueries, StepProgress, StepRow, StepStage } from "../db/sign-in-steps.js";
import type { UserRow } from "../db/users.js";
import { AppError, badRequest } from "../errors.js";
import { requestOrigin } from "../http/request-origin.js";
import type { Views } from "../http/views.js";
import type { SecondFactorService } from "../mfa/second-factor-service.js";
import { finishInteraction, type InteractionDetails, loadInteraction, saveInteractionResult } from "./interaction.js";
import { type NextStep, nextStep, type UserFactors } from "./next-step.js";
import { requirementOf } from "./requirement.js";
import { type SignInCompletion, signInResult } from "./sign-in.js";

/**
 * Where an interaction is: no verified sign-in yet (`login`), a waiting step, refused by an app
 * restricted to groups (`access`), or oidc-provider's consent prompt.
 */
export type Stage = StepStage | "login" | "access" | "consent";

export interface InteractionState {
  details: InteractionDetails;
  step: StepRow | null;
  stage: Stage;
}

const wrongStep = () => new AppError("interaction.wrong_step", "This step of the sign-in is not open now. Go back to the app and start again.", 403);
const accountGone = { error: "login_required", error_description: "The account is gone." };
// A passkey or a session outlives an operator's `users disable`: the account itself is checked at each hand-over.
const accountDisabled = () => new AppError("account.disabled", "This account is disabled. Contact the site's administrator.", 403);

/**
 * Loads the interaction and its stage onto `ctx.state.interaction` once, and refuses the request
 * unless the interaction is in one of `stages` (none given: any stage, for GET pages). A POST meant
 * for one step can never act on an interaction in another (how a password alone once skipped the
 * second factor), and a refused request changes nothing.
 */
export function inStage(provider: Provider, steps: SignInStepQueries, stages: readonly Stage[]): Middleware {
  return async (ctx, next) => {
    const details = await loadInteraction(ctx, provider);
    const { name } = details.prompt;
    if (name !== "login" && name !== "access" && name !== "consent") {
      throw badRequest("interaction.unknown_prompt", "This sign-in step is not supported.");
    }
    const step = name === "login" ? await steps.find(details.uid, new Date()) : null;
    const stage: Stage = name === "login" ? ((step?.stage as StepStage | undefined) ?? "login") : name;
    if (stages.length > 0 && !stages.includes(stage)) throw wrongStep();
    ctx.state.interaction = { details, step, stage } satisfies InteractionState;
    await next();
  };
}

/** `inStage` bound to the provider and the step table: what each route declares it answers. */
export type Admit = (...stages: Stage[]) => Middleware;

export const interactionOf = (ctx: Context) => ctx.state.interaction as InteractionState;

export interface StepMachineDependencies extends SignInCompletion {
  provider: Provider;
  views: Views;
  steps: SignInStepQueries;
  users: { findById(id: string): Promise<UserRow | null> };
  secondFactors: Pick<SecondFactorService, "factorsOf">;
  globalMinimumAcr: string | null;
  interactionSeconds: number;
}

export type StepMachine = ReturnType<typeof createStepMachine>;

/**
 * Moves a sign-in between stages: decides the next one (`nextStep`), writes it with one conditional
 * statement out of the stage the request was admitted in, and answers with that stage's page
 * (a form POST) or `{ redirectTo }` (a passkey ceremony's JSON POST, whose page then loads it).
 */
export function createStepMachine(deps: StepMachineDependencies) {
  const { views, steps } = deps;
  const expiresAt = () => new Date(Date.now() + deps.interactionSeconds * 1000);

  async function factorsOf(user: UserRow): Promise<UserFactors> {
    return { password: user.passwordHash !== null, ...(await deps.secondFactors.factorsOf(user.id)) };
  }

  async function decide(details: InteractionDetails, user: UserRow, progress: StepProgress, force = false): Promise<NextStep> {
    return nextStep({
      factors: await factorsOf(user),
      requirement: await requirementOf(deps, details),
      acr: progress.acr,
      freshAmr: progress.freshAmr,
      force,
    });
  }

  async function respond(ctx: Context, redirectTo: string, json: boolean) {
    if (json) {
      ctx.body = { redirectTo };
      return;
    }
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  /** Leaves the step the request was admitted in; false when another request moved it first. */
  async function leave(uid: string, from: Stage): Promise<boolean> {
    if (from === "login" || from === "consent" || from === "access") return true;
    return (await steps.take(uid, from, new Date())) !== null;
  }

  async function enter(uid: string, from: Stage, to: StepStage, progress: StepProgress): Promise<StepRow | null> {
    const now = new Date();
    if (from === "login") return steps.start(uid, to, progress, expiresAt(), now);
    if (from === "consent" || from === "access") return null;
    return steps.move(uid, from, to, progress, now);
  }

  /** Renders the page of the stage `step` is in (a GET, or a step's answer with an error to show). */
  async function show(ctx: Context, step: StepRow, options: { error?: string; status?: number } = {}) {
    const { details } = interactionOf(ctx);
    const user = await deps.users.findById(step.userId);
    if (!user) throw badRequest("interaction.expired", "This sign-in page has expired. Go back to the app and start again.");
    const uid = details.uid;
    const { t } = views.textOf(ctx);
    const status = options.status ?? (options.error ? 400 : 200);
    switch (step.stage as StepStage) {
      case "second_factor": {
        const factors = await factorsOf(user);
        const next = await decide(details, user, step);
        const offer = next.kind === "second_factor" ? next : { passkey: factors.passkeys > 0, codes: factors.totp || factors.backupCodes > 0 };
        return views.render(ctx, "interactions/second-factor", { title: t("sign-in:titles.confirmItsYou"), uid, ...offer, error: options.error }, status);
      }
      case "enrolment": {
        const next = await decide(details, user, step);
        const totp = next.kind === "enrolment" ? next.totp : false;
        return views.render(ctx, "interactions/enrol", { title: t("sign-in:titles.setUpSecondFactor"), uid, totp, error: options.error }, status);
      }
      case "enrolled":
        return views.render(ctx, "interactions/enrol-done", { title: t("sign-in:titles.authenticatorAppSetUp"), uid, codes: null });
      case "passkey_offer":
        return views.render(ctx, "interactions/passkey-prompt", { title: t("sign-in:titles.createPasskey"), uid, error: options.error }, status);
      case "reverify": {
        const factors = await factorsOf(user);
        return views.render(
          ctx,
          "interactions/reverify",
          {
            title: t("sign-in:titles.confirmItsYou"),
            uid,
            email: user.email,
            passkey: factors.passkeys > 0,
            password: factors.password,
            remember: step.remember,
          },
          status,
        );
      }
      default:
        throw wrongStep();
    }
  }

  /** The account, read once per hand-over (`user`: already read in this request). */
  async function activeAccount(userId: string, user?: UserRow): Promise<UserRow> {
    const account = user ?? (await deps.users.findById(userId));
    if (!account || account.disabledAt) throw accountDisabled();
    return account;
  }

  /** Hands the sign-in to oidc-provider, once the step it was admitted in is taken. */
  async function finish(ctx: Context, from: Stage, progress: StepProgress, json: boolean, user?: UserRow) {
    const { details } = interactionOf(ctx);
    const account = await activeAccount(progress.userId, user);
    if (!(await leave(details.uid, from))) throw wrongStep();
    await respond(ctx, await signInResult(ctx, deps, details, progress, account), json);
  }

  return {
    show,
    finish,
    wrongStep,
    /** Hands over a sign-in whose step the caller already took (in the transaction of what it changed). */
    handOver: async (ctx: Context, progress: StepProgress, json: boolean) => {
      const account = await activeAccount(progress.userId);
      await respond(ctx, await signInResult(ctx, deps, interactionOf(ctx).details, progress, account), json);
    },

    /**
     * After a verification (or on a step-up, with nothing verified yet): the next stage, or the end
     * of the sign-in. `onSignInAgain` shows the full sign-in page when nothing the user has can
     * answer a risky request.
     * @throws AppError interaction.wrong_step (403) when another request moved the step first
     */
    async advance(ctx: Context, from: Stage, progress: StepProgress, options: { json?: boolean; force?: boolean; onSignInAgain?: () => void } = {}) {
      const { details } = interactionOf(ctx);
      const json = options.json === true;
      const user = await deps.users.findById(progress.userId);
      if (!user) {
        if (!(await leave(details.uid, from))) throw wrongStep();
        return finishInteraction(ctx, details, accountGone);
      }
      if (user.disabledAt) {
        await leave(details.uid, from);
        throw accountDisabled();
      }
      const signIn = { ...progress, acr: acrForMethods(progress.amr) };
      const next = await decide(details, user, signIn, options.force);
      switch (next.kind) {
        case "finish": {
          const snoozed = user.passkeyPromptSnoozedUntil !== null && user.passkeyPromptSnoozedUntil > new Date();
          if (!next.offerPasskey || snoozed) return finish(ctx, from, signIn, json, user);
          // The passkey funnel (events funnel): offers shown, then created or skipped.
          await deps.events.record({ type: "passkey_offer.shown", outcome: "success", userId: user.id, ...requestOrigin(ctx) });
          return this.goTo(ctx, from, "passkey_offer", signIn, json);
        }
        case "second_factor":
        case "enrolment":
          return this.goTo(ctx, from, next.kind, signIn, json);
        case "reverify":
          // A fresh check from scratch: what the session holds does not carry over.
          return this.goTo(ctx, from, "reverify", { ...signIn, amr: [], freshAmr: [] }, json);
        case "sign_in_again":
          if (!(await leave(details.uid, from))) throw wrongStep();
          return options.onSignInAgain?.();
        case "unmet": {
          if (!(await leave(details.uid, from))) throw wrongStep();
          const redirectTo = await saveInteractionResult(details, {
            error: "unmet_authentication_requirements",
            error_description: "The sign-in could not reach the authentication level this application requires.",
          });
          return respond(ctx, redirectTo, json);
        }
      }
    },

    /** Moves to `to` and shows its page (or sends the page's script there). */
    async goTo(ctx: Context, from: Stage, to: StepStage, progress: StepProgress, json: boolean) {
      const { details } = interactionOf(ctx);
      const step = await enter(details.uid, from, to, progress);
      if (!step) throw wrongStep();
      if (json) return respond(ctx, `/interaction/${details.uid}`, true);
      return show(ctx, step);
    },
  };
}
