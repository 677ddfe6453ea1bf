/**
 * Configuration values that the protocol library also defines are the protocol's own: one
 * `IPv6Prefix` (a prefix read from the configuration can test containment), one `INFINITY`.
 */

import assert from "node:assert/strict";
import * as config from "../../src/config/mod.ts";
import * as protocol from "../../src/protocol/mod.ts";

const ctx: config.ValueContext = { configDir: "/", hostChecks: false };

Deno.test("config values: a configured prefix is the protocol's IPv6Prefix", () => {
  const prefix = config.ipv6Prefix().parse("2001:DB8:1::/48", ctx);
  assert.ok(prefix instanceof protocol.IPv6Prefix);
  assert.equal(prefix.text, "2001:db8:1::/48");
  assert.ok(prefix.contains("2001:db8:1:ffff::1"));
  assert.ok(!prefix.contains("2001:db8:2::1"));
  const host = config.ipv6Prefix({ allowAddress: true }).parse("2001:db8::1", ctx);
  assert.ok(host instanceof protocol.IPv6Prefix);
  assert.equal(String(host), "2001:db8::1/128");
});

Deno.test("config values: INFINITY and the DUID time base are the protocol's", () => {
  assert.equal(config.INFINITY, protocol.INFINITY);
  assert.equal(config.duration({ infinity: true }).parse("INFINITY", ctx), protocol.INFINITY);
  assert.equal(
    config.duidTime.parse("2016-12-31T23:59:59Z", ctx),
    Date.UTC(2016, 11, 31, 23, 59, 59) / 1000 - protocol.DUID_TIME_EPOCH,
  );
});
