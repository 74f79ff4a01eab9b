import { randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";
import Koa, { type Context } from "koa";
import * as oidc from "openid-client";

/**
 * A backend-for-frontend relying party: the browser holds only an opaque session cookie; the
 * tokens (ID, access, refresh) stay on this server. Sign-in is Authorization Code + PKCE (S256)
 * with state and nonce; sign-out is RP-initiated logout; the IdP's back-channel logout tokens end
 * the matching sessions here too.
 */
export interface BffOptions {
  /** The IdP, e.g. http://localhost:3000 (plain http only for loopback development). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where this app is reached, e.g. http://localhost:8080. */
  baseUrl: string;
}

interface Session {
  sub: string;
  email: string | undefined;
  sid: string | undefined;
  idToken: string;
  accessToken: string;
  refreshToken: string | undefined;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  createdAt: number;
}

const SIGN_IN_MS = 10 * 60_000;
const LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example app</title></head><body><main>${body}</main></body></html>`;

export async function createBff(options: BffOptions) {
  const issuerUrl = new URL(options.issuer);
  const loopback = issuerUrl.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(issuerUrl.hostname);
  const config = await oidc.discovery(issuerUrl, options.clientId, undefined, oidc.ClientSecretBasic(options.clientSecret), {
    // openid-client refuses plain http; allowed here only for an IdP on this machine.
    execute: loopback ? [oidc.allowInsecureRequests] : [],
  });
  const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri as string));
  const secure = new URL(options.baseUrl).protocol === "https:";
  // `__Host-`: this origin only, path "/", Secure; plain names on http://localhost development.
  const sessionCookie = secure ? "__Host-session" : "bff_session";
  const signInCookie = secure ? "__Host-sign-in" : "bff_sign_in";
  const cookieOptions = { httpOnly: true, sameSite: "lax" as const, secure, path: "/", overwrite: true };

  // In memory for the example; a real deployment keeps these in Redis or a database.
  const sessions = new Map<string, Session>();
  const pendingSignIns = new Map<string, PendingSignIn>();
  const newId = () => randomBytes(32).toString("base64url");

  const sessionOf = (ctx: Context) => {
    const id = ctx.cookies.get(sessionCookie);
    return id ? sessions.get(id) : undefined;
  };

  /** A fresh access token: refreshed (and the rotated refresh token kept) when the old one is about to expire. */
  async function accessTokenOf(session: Session): Promise<string | null> {
    if (session.expiresAt - Date.now() > 30_000) return session.accessToken;
    if (!session.refreshToken) return null;
    try {
      const tokens = await oidc.refreshTokenGrant(config, session.refreshToken);
      session.accessToken = tokens.access_token;
      session.refreshToken = tokens.refresh_token ?? session.refreshToken;
      session.expiresAt = Date.now() + (tokens.expires_in ?? 0) * 1000;
      return session.accessToken;
    } catch {
      return null;
    }
  }

  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.set("Cache-Control", "no-store");
    ctx.set("Content-Security-Policy", `default-src 'none'; form-action 'self' ${issuerUrl.origin}`);
    await next();
  });

  app.use(async (ctx, next) => {
    const url = new URL(ctx.url, options.baseUrl);
    if (ctx.method === "GET" && url.pathname === "/") {
      const session = sessionOf(ctx);
      ctx.type = "html";
      ctx.body = session
        ? page(
            `<p>Signed in as <strong id="user">${escapeHtml(session.email ?? session.sub)}</strong>.</p>` +
              `<p><a href="/me">Your profile (fetched by the server with its access token)</a></p>` +
              `<form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
          )
        : page(`<p>You are signed out.</p><p><a href="/login">Sign in</a></p>`);
      return;
    }

    if (ctx.method === "GET" && url.pathname === "/login") {
      const pending: PendingSignIn = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        createdAt: Date.now(),
      };
      const id = newId();
      pendingSignIns.set(id, pending);
      ctx.cookies.set(signInCookie, id, { ...cookieOptions, maxAge: SIGN_IN_MS });
      ctx.redirect(
        oidc
          .buildAuthorizationUrl(config, {
            redirect_uri: `${options.baseUrl}/callback`,
            scope: "openid email profile offline_access",
            prompt: "consent",
            code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
            code_challenge_method: "S256",
            state: pending.state,
            nonce: pending.nonce,
          })
          .toString(),
      );
      return;
    }

    if (ctx.method === "GET" && url.pathname === "/callback") {
      const pendingId = ctx.cookies.get(signInCookie);
      const pending = pendingId ? pendingSignIns.get(pendingId) : undefined;
      if (pendingId) pendingSignIns.delete(pendingId);
      ctx.cookies.set(signInCookie, null, cookieOptions);
      if (!pending || Date.now() - pending.createdAt > SIGN_IN_MS) {
        ctx.status = 400;
        ctx.body = page(`<p>This sign-in has expired. <a href="/login">Start again</a>.</p>`);
        return;
      }
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        // Checks iss (RFC 9207), state, the code with its PKCE verifier, the ID token and its nonce.
        tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        ctx.status = 400;
        ctx.body = page(`<p>Sign-in failed: ${escapeHtml((error as Error).message)}. <a href="/login">Try again</a>.</p>`);
        return;
      }
      const claims = tokens.claims() as { sub: string; sid?: string };
      // Profile claims come from userinfo (the ID token carries who and how, not the profile).
      const profile = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      // A new session id at sign-in (no session fixation).
      const old = ctx.cookies.get(sessionCookie);
      if (old) sessions.delete(old);
      const id = newId();
      sessions.set(id, {
        sub: claims.sub,
        email: typeof profile.email === "string" ? profile.email : undefined,
        sid: claims.sid,
        idToken: tokens.id_token as string,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: Date.now() + (tokens.expires_in ?? 0) * 1000,
      });
      ctx.cookies.set(sessionCookie, id, cookieOptions);
      ctx.redirect("/");
      return;
    }

    if (ctx.method === "GET" && url.pathname === "/me") {
      const session = sessionOf(ctx);
      const accessToken = session ? await accessTokenOf(session) : null;
      if (!session || !accessToken) {
        ctx.status = 401;
        ctx.body = { error: "signed_out" };
        return;
      }
      ctx.body = await oidc.fetchUserInfo(config, accessToken, session.sub);
      return;
    }

    if (ctx.method === "POST" && url.pathname === "/logout") {
      // A cross-site form cannot sign the user out (the cookie is SameSite=Lax; the Origin is checked too).
      const origin = ctx.get("Origin");
      if (origin && origin !== new URL(options.baseUrl).origin) {
        ctx.status = 403;
        return;
      }
      const id = ctx.cookies.get(sessionCookie);
      const session = id ? sessions.get(id) : undefined;
      if (id) sessions.delete(id);
      ctx.cookies.set(sessionCookie, null, cookieOptions);
      ctx.status = 303;
      ctx.redirect(
        session ? oidc.buildEndSessionUrl(config, { id_token_hint: session.idToken, post_logout_redirect_uri: `${options.baseUrl}/` }).toString() : "/",
      );
      return;
    }

    if (ctx.method === "POST" && url.pathname === "/backchannel-logout") {
      const body = await new Promise<string>((resolve, reject) => {
        let text = "";
        ctx.req.setEncoding("utf8");
        ctx.req.on("data", (chunk: string) => {
          text += chunk;
          if (text.length > 16_384) reject(new Error("too large"));
        });
        ctx.req.on("end", () => resolve(text));
        ctx.req.on("error", reject);
      }).catch(() => "");
      const token = new URLSearchParams(body).get("logout_token");
      try {
        // OIDC Back-Channel Logout §2.6: signature, issuer, audience, the event, and no nonce.
        const { payload } = await jwtVerify(token ?? "", jwks, { issuer: config.serverMetadata().issuer, audience: options.clientId, typ: "logout+jwt" });
        const events = payload.events as Record<string, unknown> | undefined;
        if (!events || typeof events[LOGOUT_EVENT] !== "object" || "nonce" in payload || (!payload.sid && !payload.sub)) throw new Error("not a logout token");
        for (const [id, session] of sessions) {
          if ((payload.sid && session.sid === payload.sid) || (!payload.sid && session.sub === payload.sub)) sessions.delete(id);
        }
        ctx.status = 200;
      } catch {
        ctx.status = 400;
        ctx.body = { error: "invalid_request" };
      }
      return;
    }

    await next();
  });

  return { app, sessions };
}
