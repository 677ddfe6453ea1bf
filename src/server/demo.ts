/**
 * The embedded demo configuration `dhcpkit serve --demo` runs: no root needed, unicast on ::1 at
 * a high port, a few information options, rapid commit, and an address and a prefix for the
 * client `dhcpkit query` imitates by default. The assignment lives in the configuration itself
 * (`<demo-assignment>`, from the module the demo loads with its `extension` key), so the demo
 * has no files: it reads none, writes none and leaves none behind.
 * @module
 */

/** Port the demo listens on. */
export const DEMO_PORT = 5547;

/** The module that defines `<demo-assignment>`, as the demo's `extension` key names it. */
export const DEMO_EXTENSION: string = new URL("./demo_extension.ts", import.meta.url).href;

/**
 * Import the module that defines `<demo-assignment>`. The server does so itself, for the demo's
 * `extension` key; this literal import puts the module in the program's module graph, so that
 * `deno check` checks it and `deno compile` embeds it.
 */
export function importDemoExtension(): Promise<unknown> {
  return import("./demo_extension.ts");
}

/** The client the demo serves: the DUID-LL of 02:00:00:00:00:01, `dhcpkit query`'s default. */
export const DEMO_CLIENT_DUID = "00030001020000000001";

/** The demo configuration text. */
export const DEMO_CONFIG =
  `# dhcpkit demo configuration (embedded): answers relayed requests on [::1]:${DEMO_PORT}.
workers 1
allow-rapid-commit yes
extension ${DEMO_EXTENSION}

<duid-ll server-id>
    hardware-type 1
    link-layer-address 02:00:00:d4:c9:01
</duid-ll>

<listen-unicast ::1>
    port ${DEMO_PORT}
    mark demo
</listen-unicast>

<recursive-name-servers>
    address 2001:db8::53
    address 2001:db8::153
</recursive-name-servers>

<domain-search-list>
    domain-name example.com
    domain-name example.net
</domain-search-list>

<sntp-servers>
    address 2001:db8::123
</sntp-servers>

<preference>
    level 255
</preference>

# The client "dhcpkit query" imitates by default gets an address and a prefix.
<demo-assignment>
    id duid:${DEMO_CLIENT_DUID}
    address 2001:db8::1:1
    prefix 2001:db8:1:100::/56
</demo-assignment>
`;
