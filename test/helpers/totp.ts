import { generate } from "otplib";
import type { TestServer } from "./test-server.js";

/**
 * Sets up a confirmed authenticator app for `user` as the enrolment page does (confirmed with the
 * previous step's code, so "now" is still unused); returns a code maker for any time.
 */
export async function enrolTotp(server: TestServer, user: { id: string; email: string }) {
  const { secret } = await server.services.totp.startEnrolment(user);
  const codeAt = (ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });
  if (!(await server.services.totp.confirmEnrolment(user.id, await codeAt(Date.now() - 30_000)))) throw new Error("TOTP enrolment was not confirmed");
  return codeAt;
}
