import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeviceCookie } from "../../src/auth/device-cookie.js";

const EMAILS: Record<string, string> = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`user-${i}`, `user-${i}@example.com`]));

// The device cookie on an https issuer behind a proxy (§23), on a bare koa app with the app's cookie signing.
describe("device cookie", () => {
  let url: string;
  let close: () => void;

  beforeAll(async () => {
    const app = new Koa({ keys: [randomBytes(32).toString("base64url")], proxy: true });
    const devices = createDeviceCookie({ secureCookies: true, key: randomBytes(32) });
    app.use(async (ctx) => {
      const user = String(ctx.query.user ?? "");
      if (ctx.path === "/remember" && EMAILS[user]) devices.remember(ctx, EMAILS[user]);
      ctx.body = { known: devices.knownFor(ctx, String(ctx.query.email ?? "")) };
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close?.());

  const request = async (path: string, cookie = "") => {
    const response = await fetch(`${url}${path}`, { headers: { "x-forwarded-proto": "https", cookie } });
    const setCookies = response.headers.getSetCookie();
    return { setCookies, cookie: setCookies.map((c) => c.split(";")[0]).join("; "), known: ((await response.json()) as { known: string | null }).known };
  };

  it("is __Host-, Secure, HttpOnly, SameSite=Lax and signed on https", async () => {
    const { setCookies } = await request("/remember?user=user-0");
    expect(setCookies.map((c) => c.split("=")[0])).toEqual(["__Host-device", "__Host-device.sig"]);
    for (const cookie of setCookies) {
      expect(cookie.toLowerCase()).toContain("; path=/;");
      expect(cookie.toLowerCase()).toMatch(/; secure.*; httponly|; httponly.*; secure/);
      expect(cookie.toLowerCase()).toContain("samesite=lax");
      expect(cookie.toLowerCase()).not.toContain("domain=");
    }
  });

  it("knows the accounts it signed in to (in any case), keeps one nonce, and names at most five", async () => {
    let cookie = "";
    let nonce: string | null = null;
    for (let i = 0; i < 7; i += 1) {
      cookie = (await request(`/remember?user=user-${i}&email=user-${i}@example.com`, cookie)).cookie;
      const { known } = await request(`/?email=USER-${i}@Example.com`, cookie);
      nonce ??= known;
      expect(known).toBe(nonce);
    }
    expect((await request("/?email=user-6@example.com", cookie)).known).toBe(nonce);
    expect((await request("/?email=user-2@example.com", cookie)).known).toBe(nonce);
    expect((await request("/?email=user-1@example.com", cookie)).known).toBeNull();
    expect((await request("/?email=someone@example.com", cookie)).known).toBeNull();
    expect(cookie).not.toContain("example.com");
  });

  it("reads a cookie without its signature, or with a changed value, as none", async () => {
    const { cookie } = await request("/remember?user=user-0");
    const [value, signature] = cookie.split("; ");
    expect((await request("/?email=user-0@example.com", cookie)).known).not.toBeNull();
    expect((await request("/?email=user-0@example.com", value)).known).toBeNull();
    expect((await request("/?email=user-0@example.com", `${value}x; ${signature}`)).known).toBeNull();
  });
});
