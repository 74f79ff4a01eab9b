/** A string field of a parsed request body (form or JSON); "" when absent or not a string. */
export function bodyField(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === "string" ? value : "";
}
