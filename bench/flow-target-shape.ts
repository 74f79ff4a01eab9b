/** The relying party's callback every bench client registers (nothing listens there: the code is read from the redirect). */
export const FLOW_CALLBACK = "http://localhost:8080/cb";

export interface FlowUser {
  id: string;
  email: string;
}

/** What bench/flow-target.ts prints once it serves. */
export interface FlowTarget {
  issuer: string;
  password: string;
  client: { id: string; secret: string };
  /** A client that skips consent (`clients create --first-party`). */
  firstPartyClient: { id: string; secret: string };
  /** Users who will get a passkey (bench/flows.ts registers one for each before measuring), and users who sign in with a password. */
  passkeyUsers: FlowUser[];
  passwordUsers: FlowUser[];
  /** The PostgreSQL database's name (to find its statements in the server's log), null on PGlite and bare. */
  database: string | null;
  /** Bearer token of `GET /metrics` (null on bare). */
  metricsToken: string | null;
}
