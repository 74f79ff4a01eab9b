import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { moveClock, restoreClock } from "../helpers/movable-clock.js";
import { createUser } from "../helpers/relying-party.js";
import { seedPasskey } from "../helpers/software-authenticator.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const TOKEN = "metrics-token-for-tests-0123456789abcdef";

// Issue #16: passkey adoption as a number in /metrics (read at most once a minute).
describe("passkey adoption in /metrics", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("pglite", {}, { env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(() => server?.stop());
  afterEach(() => restoreClock());

  const gauges = async () => {
    const text = await (await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const value = (name: string) =>
      text
        .split("\n")
        .find((line) => line.startsWith(`${name} `))
        ?.split(" ")[1];
    return { users: value("idp_passkey_users_ratio"), signIns: value("idp_passkey_sign_ins_ratio") };
  };

  it("gives the share of active people with a passkey and of the week's sign-ins made with one", async () => {
    const [withPasskey, without, disabled] = await Promise.all(["a@example.com", "b@example.com", "c@example.com"].map((email) => createUser(server, email)));
    await server.services.userAdmin.disable(disabled as string);
    await seedPasskey(server.database.prisma, withPasskey as string);
    const signIn = (userId: string, amr: string) => server.services.events.record({ type: "sign_in", outcome: "success", userId, details: { amr } });
    await signIn(withPasskey as string, "hwk user");
    await signIn(without as string, "pwd");
    await signIn(without as string, "pwd otp");
    await signIn(withPasskey as string, "swk user");
    expect(await gauges()).toEqual({ users: "0.5", signIns: "0.5" });

    // Read at most once a minute: a new sign-in shows after that.
    await signIn(withPasskey as string, "hwk user");
    expect((await gauges()).signIns).toBe("0.5");
    moveClock(61);
    expect((await gauges()).signIns).toBe("0.6");
  });
});
