/** The `<radius-assignments>` section, the User-Name of each kind, and the answer cache. */

import assert from "node:assert/strict";
import { loadConfigText, type ValueContext } from "../../../src/config/mod.ts";
import { AnswerCache } from "../../../src/handlers/radius/cache.ts";
import { cappedLifetimes, nasAddressFor } from "../../../src/handlers/radius/handler.ts";
import { queryFor, type UserNameKind } from "../../../src/handlers/radius/query.ts";
import { radiusServer } from "../../../src/handlers/radius/section.ts";
import {
  LinkLayerIdOption,
  RemoteIdOption,
  SubscriberIdOption,
} from "../../../src/protocol/mod.ts";
import "../../pipeline/helpers.ts"; // installs the built-in extensions
import { CLIENT_DUID } from "../../pipeline/helpers.ts";
import { bundleFor, interfaceId, remoteId, solicit, viaRelay } from "./helpers.ts";

const ctx: ValueContext = { configDir: "/tmp", hostChecks: false };

Deno.test("server: HOST[:PORT] forms, IPv6 in brackets, names", () => {
  const parse = (t: string) => {
    const s = radiusServer.parse(t, ctx);
    return [s.host, s.port, s.label];
  };
  assert.deepEqual(parse("192.0.2.18"), ["192.0.2.18", 1812, "192.0.2.18:1812"]);
  assert.deepEqual(parse("192.0.2.18:1645"), ["192.0.2.18", 1645, "192.0.2.18:1645"]);
  assert.deepEqual(parse("[2001:DB8:0::18]:1812"), ["2001:db8::18", 1812, "[2001:db8::18]:1812"]);
  assert.deepEqual(parse("2001:db8::18"), ["2001:db8::18", 1812, "[2001:db8::18]:1812"]);
  assert.deepEqual(parse("Radius.example.net:18120"), [
    "radius.example.net",
    18120,
    "radius.example.net:18120",
  ]);
  for (const bad of ["[radius]:1812", "192.0.2.18:0", "192.0.2.18:65536", "a_b", "1.2.3", "x:y"]) {
    assert.throws(() => radiusServer.parse(bad, ctx), /not/, bad);
  }
});

function load(body: string) {
  return loadConfigText(`<radius-assignments>\n${body}\n</radius-assignments>\n`, "r.conf", {
    hostChecks: false,
  });
}

Deno.test("<radius-assignments>: defaults, and mistakes named with their line", () => {
  const good = load("    server 192.0.2.18\n    secret s3cr3t");
  assert.deepEqual(good.errors, []);
  const values = good.config!.handlers[0].values;
  assert.deepEqual(values.userName, ["duid"]);
  assert.equal(values.password, "");
  assert.equal(values.timeout, 0.3);
  assert.equal(values.retries, 1);
  assert.equal(values.cacheTtl, 60);
  assert.equal(values.requireMessageAuthenticator, false);
  assert.equal(typeof values.nasIdentifier, "string");

  const cases: [string, RegExp][] = [
    ["    secret s", /server/],
    ["    server 192.0.2.18", /either `secret` or `secret-file`/],
    ["    server 192.0.2.18\n    secret s\n    secret-file /etc/hostname", /either/],
    ["    server 192.0.2.18\n    secret s\n    user-name remote_idd", /user-name source/],
    ["    server 192.0.2.18\n    secret s\n    timeout 0", /timeout must be more than 0/],
    ["    server 192.0.2.18\n    server 192.0.2.18:1812\n    secret s", /given twice/],
    ["    server 192.0.2.18\n    secret s\n    password " + "x".repeat(129), /128 bytes/],
    [
      "    server 192.0.2.18\n    secret s\n    address-preferred-lifetime 2d\n" +
      "    address-valid-lifetime 1d",
      /preferred-lifetime must not be longer/,
    ],
  ];
  for (const [body, message] of cases) {
    const result = load(body);
    assert.ok(result.errors.length > 0, body);
    assert.match(result.errors.map((e) => e.message).join("\n"), message, body);
    assert.ok(result.errors.every((e) => e.line >= 1), body);
  }
});

Deno.test("the secret is never part of an error message", () => {
  const result = load("    server 192.0.2.18\n    secret TopSecret99\n    retries many");
  assert.ok(result.errors.length > 0);
  assert.ok(!JSON.stringify(result.errors).includes("TopSecret99"));
});

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("User-Name: each kind, text or hex, first present wins", () => {
  const message = viaRelay(solicit(), [
    remoteId("line-1", 4491),
    interfaceId("ge-0/0/1"),
    new SubscriberIdOption(bytes(0x00, 0x01, 0xff)),
    new LinkLayerIdOption(1, bytes(0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee)),
  ]);
  const name = (kinds: UserNameKind[]) => queryFor(bundleFor(message), kinds)?.userName;
  assert.equal(name(["duid"]), CLIENT_DUID.toHex());
  assert.equal(name(["remote-id"]), "line-1", "the enterprise number is not part of it");
  assert.equal(name(["interface-id"]), "ge-0/0/1");
  assert.equal(name(["subscriber-id"]), "0001ff", "not printable: hex");
  assert.equal(name(["linklayer-id"]), "02:aa:bb:cc:dd:ee");
  // Binary remote-ids are hex too.
  const binary = viaRelay(solicit(), [new RemoteIdOption(9, bytes(1, 2, 0x7f))]);
  assert.equal(queryFor(bundleFor(binary), ["remote-id"])?.userName, "01027f");

  const onlyInterface = viaRelay(solicit(), [interfaceId("eth7")]);
  const query = queryFor(bundleFor(onlyInterface), ["remote-id", "interface-id", "duid"])!;
  assert.equal(query.kind, "interface-id");
  assert.equal(query.userName, "eth7");
  assert.equal(query.nasPortId, "eth7");
  assert.equal(query.callingStationId, CLIENT_DUID.toHex());

  // A client talking to the server directly has no relay options (the server's own interface
  // name identifies nobody).
  const direct = queryFor(bundleFor(solicit()), ["remote-id", "interface-id", "duid"])!;
  assert.equal(direct.kind, "duid");
  assert.equal(direct.nasPortId, undefined);
  assert.equal(queryFor(bundleFor(solicit()), ["remote-id", "interface-id"]), undefined);

  // What fits no attribute is passed over.
  const long = viaRelay(solicit(), [remoteId("x".repeat(254)), interfaceId("eth7")]);
  assert.equal(queryFor(bundleFor(long), ["remote-id", "interface-id"])?.userName, "eth7");
});

Deno.test("query keys: different User-Name, DUID or Interface-ID, different key", () => {
  const key = (options: Parameters<typeof viaRelay>[1]) =>
    queryFor(bundleFor(viaRelay(solicit(), options)), ["remote-id"])?.key;
  const keys = [
    key([remoteId("a")]),
    key([remoteId("a"), interfaceId("x")]),
    key([remoteId("a"), interfaceId("y")]),
    key([remoteId("b")]),
  ];
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(key([remoteId("a")]), keys[0]);
});

Deno.test("Session-Timeout caps valid lifetimes, preferred ones follow", () => {
  const l = {
    addressPreferredLifetime: 1800,
    addressValidLifetime: 7200,
    prefixPreferredLifetime: 0xffffffff,
    prefixValidLifetime: 0xffffffff,
  };
  assert.equal(cappedLifetimes(l), l);
  assert.deepEqual(cappedLifetimes(l, 3600), {
    addressPreferredLifetime: 1800,
    addressValidLifetime: 3600,
    prefixPreferredLifetime: 3600,
    prefixValidLifetime: 3600,
  });
  assert.deepEqual(cappedLifetimes(l, 600).addressPreferredLifetime, 600);
});

Deno.test("NAS address: configured, loopback for loopback servers", () => {
  assert.equal(nasAddressFor("::1"), "::1");
  assert.equal(nasAddressFor("127.0.0.1"), "127.0.0.1");
  assert.equal(nasAddressFor("2001:db8::18", "2001:db8::547"), "2001:db8::547");
  const guess = nasAddressFor("192.0.2.18");
  assert.ok(guess === undefined || /^\d+\.\d+\.\d+\.\d+$/.test(guess));
});

Deno.test("answer cache: kept for the ttl, bounded, failures shared and not kept", async () => {
  let now = 0;
  const cache = new AnswerCache<string>(10, 2, () => now);
  cache.set("a", "A");
  now = 9_999;
  assert.equal(cache.get("a"), "A");
  now = 10_000;
  assert.equal(cache.get("a"), undefined, "expired after 10 s");
  cache.set("a", "A");
  cache.set("b", "B");
  cache.set("c", "C");
  assert.equal(cache.size, 2);
  assert.equal(cache.get("a"), undefined, "the oldest went first");
  assert.equal(cache.get("c"), "C");

  let calls = 0;
  let release!: (v: string) => void;
  const fetch = () => {
    calls++;
    return new Promise<string>((resolve) => release = resolve);
  };
  const first = cache.fetch("d", fetch);
  const second = cache.fetch("d", fetch);
  assert.ok(cache.isPending("d"));
  release("D");
  assert.deepEqual(await Promise.all([first, second]), ["D", "D"]);
  assert.equal(calls, 1);
  assert.equal(cache.get("d"), "D");

  const failing = () => Promise.reject(new Error("no answer"));
  await assert.rejects(cache.fetch("e", failing), /no answer/);
  assert.equal(cache.get("e"), undefined);
  assert.ok(!cache.isPending("e"));

  const off = new AnswerCache<string>(0, 100, () => now);
  off.set("a", "A");
  assert.equal(off.get("a"), undefined, "cache-ttl 0 keeps nothing");
});
