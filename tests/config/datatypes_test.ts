import { deepEqual, equal, throws } from "node:assert/strict";
import {
  boolean,
  byteSize,
  domainName,
  duration,
  factor,
  hexBytes,
  INFINITY,
  ipv4Prefix,
  ipv6Address,
  ipv6Prefix,
  logLevel,
  messageType,
  optionCode,
  pathInExistingDir,
  type ValueContext,
} from "../../src/config/mod.ts";

const ctx: ValueContext = { configDir: "/etc/dhcpkit", hostChecks: false };

Deno.test("datatypes: booleans", () => {
  for (const t of ["yes", "TRUE", "On"]) equal(boolean.parse(t, ctx), true);
  for (const t of ["no", "false", "OFF"]) equal(boolean.parse(t, ctx), false);
  throws(() => boolean.parse("1", ctx), /not a boolean/);
});

Deno.test("datatypes: durations, INFINITY, factors, sizes", () => {
  const d = duration();
  deepEqual(["30", "30s", "2m", "1h", "1d", "2w"].map((t) => d.parse(t, ctx)), [
    30,
    30,
    120,
    3600,
    86400,
    1209600,
  ]);
  throws(() => d.parse("INFINITY", ctx), /not a duration/);
  equal(duration({ infinity: true }).parse("infinity", ctx), INFINITY);
  throws(() => d.parse("-1", ctx));
  equal(factor.parse("NONE", ctx), null);
  equal(factor.parse("0.25", ctx), 0.25);
  throws(() => factor.parse("1.01", ctx), /out of range/);
  deepEqual(["10", "2kb", "3MB", "1gb"].map((t) => byteSize.parse(t, ctx)), [
    10,
    2048,
    3145728,
    1073741824,
  ]);
});

Deno.test("datatypes: IPv6 addresses and classes", () => {
  equal(ipv6Address().parse("2001:DB8:0:0::1", ctx).text, "2001:db8::1");
  equal(ipv6Address("link-local").parse("fe80::1", ctx).bytes[0], 0xfe);
  throws(() => ipv6Address("link-local").parse("2001:db8::1", ctx), /not a link-local/);
  throws(() => ipv6Address("multicast").parse("2001:db8::1", ctx), /not a multicast/);
  throws(() => ipv6Address("global-unicast").parse("::1", ctx), /loopback/);
  equal(ipv6Address("global-unicast-or-loopback").parse("::1", ctx).text, "::1");
  throws(() => ipv6Address("routable").parse("ff02::1", ctx), /multicast/);
  throws(() => ipv6Address("routable").parse("::", ctx), /unspecified/);
  throws(() => ipv6Address().parse("fe80::1%eth0", ctx), /zone/);
  throws(() => ipv6Address().parse("2001:db8::g", ctx), /not a valid IPv6/);
});

Deno.test("datatypes: prefixes are strict", () => {
  const p = ipv6Prefix().parse("2001:DB8:1::/48", ctx);
  equal(p.text, "2001:db8:1::/48");
  equal(p.length, 48);
  throws(() => ipv6Prefix().parse("2001:db8:1::1/48", ctx), /did you mean 2001:db8:1::\/48/);
  throws(() => ipv6Prefix().parse("2001:db8::", ctx), /length is missing/);
  throws(() => ipv6Prefix().parse("2001:db8::/129", ctx), /0 to 128/);
  equal(ipv6Prefix({ allowAddress: true }).parse("2001:db8::1", ctx).text, "2001:db8::1/128");
  equal(ipv4Prefix.parse("192.0.2.0/24", ctx).text, "192.0.2.0/24");
  throws(() => ipv4Prefix.parse("192.0.2.1/24", ctx), /did you mean 192.0.2.0\/24/);
});

Deno.test("datatypes: domain names with IDNA and length limits", () => {
  equal(domainName.parse("Example.COM.", ctx), "example.com");
  equal(domainName.parse("example.香港", ctx), "example.xn--j6w193g");
  throws(() => domainName.parse("a..b", ctx), /empty label/);
  throws(() => domainName.parse(`${"a".repeat(64)}.com`, ctx), /longer than 63/);
  const long = Array(26).fill("abcdefghi").join(".");
  throws(() => domainName.parse(long, ctx), /at most 253/);
  throws(() => domainName.parse("exa mple.com", ctx), /not a valid domain name/);
  throws(() => domainName.parse("-a.com", ctx), /not a valid domain name/);
});

Deno.test("datatypes: hex, names, paths", () => {
  deepEqual([...hexBytes().parse("00:24:36:EF", ctx)], [0, 0x24, 0x36, 0xef]);
  deepEqual([...hexBytes().parse("0024", ctx)], [0, 0x24]);
  throws(() => hexBytes().parse("002", ctx), /even number/);
  throws(() => hexBytes({ max: 2 }).parse("000102", ctx), /at most 2/);
  equal(logLevel.parse("WARN", ctx), "warning");
  equal(logLevel.parse("debug_packets", ctx), "debug-packets");
  throws(() => logLevel.parse("verbose", ctx), /not a valid log level/);
  equal(optionCode.parse("recursive-name-servers", ctx), 23);
  equal(optionCode.parse("23", ctx), 23);
  throws(() => optionCode.parse("70000", ctx));
  equal(messageType.parse("InformationRequest", ctx), 11);
  equal(messageType.parse("information_request", ctx), 11);
  equal(messageType.parse("solicit", ctx), 1);
  equal(pathInExistingDir.parse("x/y.log", ctx), "/etc/dhcpkit/x/y.log");
  equal(pathInExistingDir.parse("/var/y.log", ctx), "/var/y.log");
});
