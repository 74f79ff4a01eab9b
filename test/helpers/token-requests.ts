/** Raw token-endpoint calls, for the negative cases a well-behaved client library refuses to send. */
/** `extraHeaders`: e.g. the `X-Forwarded-Host` a balancer adds in front of an instance. */
export async function tokenRequest(
  issuer: string,
  params: Record<string, string>,
  auth?: { clientId: string; clientSecret?: string },
  extraHeaders: Record<string, string> = {},
) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", ...extraHeaders };
  if (auth?.clientSecret)
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString("base64")}`;
  const response = await fetch(`${issuer}/token`, { method: "POST", headers, body: new URLSearchParams(params) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
