/**
 * Numbers DHCPv6 assigns (RFC 8415 §7, RFC 5007, RFC 5460), defined once: message type codes,
 * the UDP ports and the "forever" value of lifetimes and timers. Option, DUID and status codes
 * live with their classes (`ClientIdOption.code`, `LinkLayerDuid.duidType`, `StatusCode`).
 * @module
 */

/** Message type codes (the `msg-type` field). */
export const MsgType = {
  /** SOLICIT (RFC 8415). */
  Solicit: 1,
  /** ADVERTISE (RFC 8415). */
  Advertise: 2,
  /** REQUEST (RFC 8415). */
  Request: 3,
  /** CONFIRM (RFC 8415). */
  Confirm: 4,
  /** RENEW (RFC 8415). */
  Renew: 5,
  /** REBIND (RFC 8415). */
  Rebind: 6,
  /** REPLY (RFC 8415). */
  Reply: 7,
  /** RELEASE (RFC 8415). */
  Release: 8,
  /** DECLINE (RFC 8415). */
  Decline: 9,
  /** RECONFIGURE (RFC 8415). */
  Reconfigure: 10,
  /** INFORMATION-REQUEST (RFC 8415). */
  InformationRequest: 11,
  /** RELAY-FORW (RFC 8415). */
  RelayForward: 12,
  /** RELAY-REPL (RFC 8415). */
  RelayReply: 13,
  /** LEASEQUERY (RFC 5007). */
  Leasequery: 14,
  /** LEASEQUERY-REPLY (RFC 5007). */
  LeasequeryReply: 15,
  /** LEASEQUERY-DONE (RFC 5460). */
  LeasequeryDone: 16,
  /** LEASEQUERY-DATA (RFC 5460). */
  LeasequeryData: 17,
} as const;

/** The UDP port clients listen on (RFC 8415 §7.2). */
export const DHCPV6_CLIENT_PORT = 546;
/** The UDP port servers and relay agents listen on (RFC 8415 §7.2). */
export const DHCPV6_SERVER_PORT = 547;

/** The value meaning "forever" in lifetimes and timers (RFC 8415 §7.7). */
export const INFINITY = 0xffffffff;
