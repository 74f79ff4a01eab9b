/** Where a request came from, as security events, mails and the risk score record it. */
export interface RequestOrigin {
  ip: string;
  userAgent: string;
}

export const requestOrigin = (ctx: { ip: string; get(header: string): string }): RequestOrigin => ({ ip: ctx.ip, userAgent: ctx.get("User-Agent") });
