import { ACCOUNT_CLIENT_ID } from "../account/account-client.js";
import { CONSOLE_CLIENT_ID, CONSOLE_PASSKEY_CLIENT_ID } from "../console/console-client.js";

const BUILT_IN = new Set([ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID, CONSOLE_PASSKEY_CLIENT_ID]);

/** The IdP's own pages (account, console): never "an app" on the account page, nothing to revoke there. */
export const isBuiltInClient = (clientId: string) => BUILT_IN.has(clientId);
