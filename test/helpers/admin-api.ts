import type { TestServer } from "./test-server.js";
import { tokenRequest } from "./token-requests.js";

export interface ApiResponse {
  status: number;
  body: Record<string, unknown> & { error?: string; error_description?: string };
}

/** A machine client with the `admin` scope and a caller for `/admin/api` with its token. */
export async function adminApi(server: TestServer) {
  const created = await server.services.clients.create({ name: "Operations", redirectUris: [], clientCredentials: true, scopes: ["admin"] });
  const client = { clientId: created.client_id, clientSecret: created.client_secret as string };
  const issued = await tokenRequest(server.issuer, { grant_type: "client_credentials", scope: "admin" }, client);
  if (issued.status !== 200) throw new Error(`no admin token: ${JSON.stringify(issued.body)}`);
  const token = issued.body.access_token as string;
  return async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const response = await fetch(`${server.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {} };
  };
}
