/**
 * The embedded demo configuration `dhcpkit serve --demo` runs: no root needed, unicast on ::1 at
 * a high port, a few information options.
 * @module
 */

/** Port the demo listens on. */
export const DEMO_PORT = 5547;

/** The demo configuration text. */
export const DEMO_CONFIG =
  `# dhcpkit demo configuration (embedded): answers relayed requests on [::1]:${DEMO_PORT}.
workers 1
allow-rapid-commit yes

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
`;
