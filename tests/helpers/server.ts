/**
 * Shared by the suites that run a real `dhcpkit serve` (e2e, ops, leasequery, extensions, docs,
 * benchmarks): the permissions the server runs with, free ports on loopback and the
 * configuration pieces every test server has (its DUID and a listener on `[::1]`).
 * @module
 */

/**
 * Permissions of a fully permission-scoped server (`compile.sh --no-ffi`): it answers with
 * Deno's own sockets (`io-backend deno`).
 */
export const SCOPED_SERVER_PERMISSIONS: readonly string[] = [
  "--unstable-net",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

/**
 * Permissions the server is started with: those of the shipped executable (`compile.sh`), so
 * `io-backend auto` means the ffi backend on Linux, as in production.
 */
export const SERVER_PERMISSIONS: readonly string[] = [...SCOPED_SERVER_PERMISSIONS, "--allow-ffi"];

/** A free UDP port on ::1. */
export function freeUdpPort(): number {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

/** The `<duid-ll server-id>` section of a test server with link-layer address `mac`. */
export function serverIdConfig(mac = "02:00:00:00:00:01"): string {
  return `<duid-ll server-id>
    hardware-type 1
    link-layer-address ${mac}
</duid-ll>
`;
}

/** A `<listen-unicast ::1>` section answering on `port`. */
export function loopbackListenerConfig(port: number): string {
  return `<listen-unicast ::1>
    port ${port}
</listen-unicast>
`;
}

/** DNS servers 2001:db8::53 and 2001:db8::153, search list example.com and example.net. */
export const INFORMATION_CONFIG = `<recursive-name-servers>
    address 2001:db8::53
    address 2001:db8::153
</recursive-name-servers>

<domain-search-list>
    domain-name example.com
    domain-name example.net
</domain-search-list>
`;
