import { it } from "vitest";
import { AccountPage } from "../helpers/account-page.js";
import { createUser } from "../helpers/relying-party.js";
import { startTestServer } from "../helpers/test-server.js";

it("debug", async () => {
  const server = await startTestServer("pglite");
  await createUser(server, "dbg@example.com");
  const account = new AccountPage(server, "dbg@example.com");
  const page = await account.open();
  console.log(page.status, page.text.match(/Signed in as.*\n/)?.[0], page.text.match(/IP .*/)?.[0], page.text.match(/<time[^\n]*/)?.[0]);
  await server.stop();
});
