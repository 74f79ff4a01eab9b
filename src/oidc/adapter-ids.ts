import { sha256 } from "../crypto/hash.js";

// Ids are bearer secrets (tokens, codes, session cookies): only their hash is stored,
// so a database dump cannot be replayed against the token endpoint or as a cookie.
export const idHashFor = (kind: string, id: string) => sha256(`${kind}:${id}`);
