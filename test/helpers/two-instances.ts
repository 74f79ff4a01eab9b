import type { DatabaseKind } from "./test-database.js";
import { startTestServer, type TestServer, type TestServerOptions } from "./test-server.js";

type Overrides = Parameters<typeof startTestServer>[1];

/** Two instances of the app on one database: the second shares the first's database and secret. */
export async function startTwoInstances(kind: DatabaseKind, overrides: Overrides = {}, options: TestServerOptions = {}): Promise<[TestServer, TestServer]> {
  const first = await startTestServer(kind, overrides, options);
  const second = await startTestServer(kind, overrides, { ...options, shareWith: first });
  return [first, second];
}

/** Stops instances started by `startTwoInstances` (those that started), the sharing one first. */
export async function stopInstances(first: TestServer | undefined, second: TestServer | undefined): Promise<void> {
  await second?.stop();
  await first?.stop();
}
