import assert from "node:assert/strict";
import {
  InformationRequestMessage,
  PreferenceOption,
  SolicitMessage,
} from "../../src/protocol/mod.ts";
import {
  ElapsedTimeFilter,
  MarkedWithFilter,
  SubnetFilter,
  SubnetGroupFilter,
} from "../../src/handlers/filters/handler.ts";
import { PreferenceOptionHandler } from "../../src/handlers/preference/handler.ts";
import { IPv6Prefix } from "../../src/protocol/mod.ts";
import {
  clientId,
  elapsed,
  pipeline,
  pipelineFromConfig,
  relayed,
  run,
} from "../pipeline/helpers.ts";

const info = () => new InformationRequestMessage(5, [clientId(), elapsed(0)]);
const level = (
  p: ReturnType<typeof pipeline>,
  ...args: Parameters<typeof run> extends [unknown, ...infer R] ? R : never
) => run(p, ...args).reply?.getOption(PreferenceOption)?.preference;

Deno.test("subnet filter matches the relay's link address, or the listener's", () => {
  const p = pipelineFromConfig(`
<subnet 2001:db8:100::/40>
  <preference>
    level 1
  </preference>
</subnet>`);
  // Relayed: the relay's link-address decides (the listener's is outside the subnet).
  assert.equal(
    level(p, relayed(info(), "2001:db8:1ab::1"), { multicast: false, source: "2001:db8::2" }),
    1,
  );
  assert.equal(
    level(p, relayed(info(), "2001:db8:200::1"), { multicast: false, source: "2001:db8::2" }),
    undefined,
  );
  // Directly connected: the listener's link address decides.
  assert.equal(level(p, info(), { linkAddress: "2001:db8:100::1" }), 1);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:1::1" }), undefined);
  // An LDRA (link-address ::) is skipped: the next relay's link-address counts.
  const viaLdra = relayed(relayed(info(), "::", "fe80::1"), "2001:db8:100::5", "fe80::2", [], 1);
  assert.equal(level(p, viaLdra, { multicast: false, source: "2001:db8::2" }), 1);
});

Deno.test("subnet filter with an unaligned prefix length", () => {
  const f = new SubnetFilter(IPv6Prefix.parse("2001:db8:ff80::/41"));
  const p = pipeline([], [f]);
  f.handlers.push(new PreferenceOptionHandler(3));
  assert.equal(level(p, info(), { linkAddress: "2001:db8:ff80::1" }), 3);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:ffff::1" }), 3);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:ff7f::1" }), undefined);
  assert.equal(f.describe(), "subnet 2001:db8:ff80::/41");
});

Deno.test("subnet-group matches any of its prefixes", () => {
  const p = pipelineFromConfig(`
<subnet-group>
  prefix 2001:db8:1::/48
  prefix 2001:db8:2::/48
  <preference>
    level 2
  </preference>
</subnet-group>`);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:1::1" }), 2);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:2:3::1" }), 2);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:3::1" }), undefined);
  const g = new SubnetGroupFilter([IPv6Prefix.parse("2001:db8::/32")]);
  assert.match(g.describe(), /subnet-group 2001:db8::\/32/);
});

Deno.test("subnet-group with match outside applies where none of its prefixes matches", () => {
  const p = pipelineFromConfig(`
<subnet-group>
  prefix 2001:db8:1::/48
  prefix 2001:db8:2::/48
  match outside
  <preference>
    level 7
  </preference>
</subnet-group>`);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:1::1" }), undefined);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:2:3::1" }), undefined);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:3::1" }), 7);
  assert.equal(
    level(p, relayed(info(), "2001:db9::1"), { multicast: false, source: "2001:db8::2" }),
    7,
  );
  const g = new SubnetGroupFilter([IPv6Prefix.parse("2001:db8::/32")], true);
  assert.equal(g.describe(), "subnet-group outside 2001:db8::/32");
});

Deno.test("an ignore-request at the top level drops what a filter serves; in a scope it does not", () => {
  // Filters only add handlers: the top-level ones apply to every request.
  const everywhere = pipelineFromConfig(`
<subnet 2001:db8:1::/48>
  <preference>
    level 1
  </preference>
</subnet>
<ignore-request />`);
  assert.equal(run(everywhere, info(), { linkAddress: "2001:db8:1::1" }).reply, undefined);
  const scoped = pipelineFromConfig(`
<subnet 2001:db8:1::/48>
  <preference>
    level 1
  </preference>
</subnet>
<subnet-group>
  prefix 2001:db8:1::/48
  match outside
  <ignore-request />
</subnet-group>`);
  assert.equal(level(scoped, info(), { linkAddress: "2001:db8:1::1" }), 1);
  assert.equal(run(scoped, info(), { linkAddress: "2001:db8:2::1" }).reply, undefined);
});

Deno.test("marked-with matches listener marks", () => {
  const p = pipelineFromConfig(`
<marked-with office>
  <preference>
    level 9
  </preference>
</marked-with>`);
  assert.equal(level(p, info(), { marks: ["office", "other"] }), 9);
  assert.equal(level(p, info(), { marks: ["unmarked"] }), undefined);
  assert.equal(new MarkedWithFilter("x").describe(), "marked-with x");
});

Deno.test("elapsed-time bounds are exclusive, in seconds against hundredths", () => {
  const p = pipelineFromConfig(`
<elapsed-time>
  more-than 10s
  less-than 1m
  <preference>
    level 4
  </preference>
</elapsed-time>`);
  const solicit = (t?: number) =>
    new SolicitMessage(1, t === undefined ? [clientId()] : [clientId(), elapsed(t)]);
  assert.equal(level(p, solicit(1000)), undefined);
  assert.equal(level(p, solicit(1001)), 4);
  assert.equal(level(p, solicit(5999)), 4);
  assert.equal(level(p, solicit(6000)), undefined);
  assert.equal(level(p, solicit()), undefined);
  const onlyAbove = new ElapsedTimeFilter(5);
  const q = pipeline([], [onlyAbove]);
  onlyAbove.handlers.push(new PreferenceOptionHandler(8));
  assert.equal(level(q, solicit(501)), 8);
  assert.equal(level(q, solicit(0xffff)), 8);
  assert.equal(level(q, solicit(500)), undefined);
  const onlyBelow = new ElapsedTimeFilter(undefined, 5);
  const r = pipeline([], [onlyBelow]);
  onlyBelow.handlers.push(new PreferenceOptionHandler(8));
  assert.equal(level(r, solicit(0)), 8);
  assert.equal(level(r, solicit(500)), undefined);
  assert.equal(onlyAbove.describe(), "elapsed-time more-than 5s");
});

Deno.test("nested filters: all must match; inner handlers run before outer ones", () => {
  const p = pipelineFromConfig(`
<subnet 2001:db8::/32>
  <marked-with vip>
    <preference>
      level 200
    </preference>
  </marked-with>
  <preference>
    level 100
  </preference>
</subnet>
<preference>
  level 1
</preference>`);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:1::1", marks: ["vip"] }), 200);
  assert.equal(level(p, info(), { linkAddress: "2001:db8:1::1" }), 100);
  assert.equal(level(p, info(), { linkAddress: "2001:db9:1::1", marks: ["vip"] }), 1);
});
