/** The dhcpkit version, shown by `dhcpkit --version`, the control socket greeting and logs. */
export const VERSION = "0.1.0";
