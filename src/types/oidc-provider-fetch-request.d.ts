// oidc-provider's outgoing-request guard; the package has no exports map, so its helpers are importable.
declare module "oidc-provider/lib/helpers/fetch_request.js" {
  /** Private, loopback, link-local, CGNAT, documentation, multicast and other special-use IPv4/IPv6 ranges. */
  export function isSpecialUseIP(address: string): boolean;
}
