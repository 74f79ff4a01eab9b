import { AccountPage } from "./account-page.js";
import { BrowserSession, csrfTokenOf, type PageResponse } from "./browser-session.js";
import { PASSWORD } from "./relying-party.js";
import { SoftwareAuthenticator } from "./software-authenticator.js";
import type { TestServer } from "./test-server.js";

export interface SeededPerson {
  id: string;
  email: string;
  authenticator: SoftwareAuthenticator | null;
}

/** A person with a password, the role, and (unless `passkey: false`) a passkey stored as a registration would have. */
export async function seedPerson(server: TestServer, email: string, options: { role?: "operator" | "user"; passkey?: boolean } = {}): Promise<SeededPerson> {
  const user = await server.services.users.create({ email, password: PASSWORD });
  if (options.role === "operator") await server.services.userQueries.updateProfile(user.id, { role: "operator" });
  if (options.passkey === false) return { id: user.id, email, authenticator: null };
  const authenticator = new SoftwareAuthenticator();
  await server.services.credentials.insertCredential({
    id: authenticator.credentialId.toString("base64url"),
    userId: user.id,
    publicKey: new Uint8Array(authenticator.publicKeyCose()),
    counter: 0,
    transports: ["internal"],
    deviceType: "singleDevice",
    backupEligible: false,
    backedUp: false,
    aaguid: "00000000-0000-0000-0000-000000000000",
    name: "Test key",
  });
  return { id: user.id, email, authenticator };
}

/** The console as an operator uses it over HTTP: signs in with the person's passkey, posts forms with the page's token. */
export class ConsolePage extends AccountPage {
  constructor(server: TestServer, person: SeededPerson, browser = new BrowserSession()) {
    super(server, person.email, browser);
    this.home = "/admin";
    if (person.authenticator) this.passkey = { authenticator: person.authenticator, userId: person.id };
  }

  /** Signs in (if needed) and opens `path`. */
  async page(path = "/admin"): Promise<PageResponse> {
    return this.open(path);
  }

  /** Posts to `path` with a token from a console page with a form. */
  async postWithToken(path: string, fields: Record<string, string> = {}): Promise<PageResponse> {
    const page = await this.browser.get(`${this.server.issuer}/admin/people`);
    return this.browser.postForm(`${this.server.issuer}${path}`, { _csrf: csrfTokenOf(page.text), ...fields });
  }
}
