import { deepEqual, equal, ok } from "node:assert/strict";
import { cpus } from "node:os";
import {
  type ConfigSection,
  formatIssue,
  INFINITY,
  isSectionOf,
  type ServerConfig,
} from "../../src/config/mod.ts";
import { recursiveNameServersSection } from "../../src/handlers/dns/section.ts";
import { fixture, loadFixture } from "./helpers.ts";

function load(name: string): ServerConfig {
  const result = loadFixture(`reference/${name}`, { hostChecks: false });
  deepEqual(result.errors.map(formatIssue), []);
  ok(result.config);
  return result.config;
}

function only(config: ServerConfig): ConfigSection {
  equal(config.handlers.length, 1);
  return config.handlers[0];
}

/** Narrow a typed section by its type or fail. */
function narrow<S extends { type: string }, T extends S["type"]>(
  s: S | undefined,
  type: T,
): Extract<S, { type: T }> {
  equal(s?.type, type);
  return s as Extract<S, { type: T }>;
}

const texts = (xs: { text: string }[]) => xs.map((x) => x.text);
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("reference main example: settings, listeners and nested filters", () => {
  const c = load("main.conf");
  equal(c.user, "demo");
  equal(c.group, "nogroup");
  equal(c.pidFile, "/run/dhcpkit/dhcpkit.pid");
  equal(c.controlSocket, "/run/dhcpkit/dhcpkit.sock");
  equal(c.controlSocketUser, undefined);
  equal(c.controlSocketGroup, undefined);
  equal(c.workers, Math.max(1, navigator.hardwareConcurrency || cpus().length));
  equal(c.allowRapidCommit, false);
  equal(c.rapidCommitRejections, false);
  equal(c.exceptionWindow, 10.0);
  equal(c.maxExceptions, 5);
  equal(c.serverId, undefined);
  equal(c.logging.logMultiprocessing, false);
  deepEqual(c.logging.handlers.map((h) => [h.type, h.values.level]), [
    ["console", "debug-packets"],
    ["syslog", "info"],
  ]);
  const syslog = narrow(c.logging.handlers[1], "syslog").values;
  equal(syslog.facility, "daemon");
  equal(syslog.protocol, "dgram");
  equal(syslog.destination, undefined);
  equal(narrow(c.logging.handlers[0], "console").values.color, undefined);
  deepEqual(c.statistics, { interfaces: [], subnets: [], relays: [] });
  equal(c.listeners.length, 1);
  const l = narrow(c.listeners[0], "listen-unicast");
  equal(l.values.address.text, "2001:db8::1");
  deepEqual(l.values.marks, ["unmarked"]);
  equal(l.values.port, 547);
  const outer = only(c);
  equal(outer.type, "subnet");
  equal(outer.name, "2001:db8:1::/48");
  equal(outer.values.prefix.text, "2001:db8:1::/48");
  equal(outer.values.prefix.length, 48);
  equal(outer.line, 20);
  deepEqual(outer.children.map((x) => x.type), ["subnet", "static-csv"]);
  const inner = outer.children[0];
  equal(inner.values.prefix.text, "2001:db8:1:2::/64");
  deepEqual(inner.children.map((x) => [x.type, x.values.messageTypes]), [["ignore-request", []]]);
  const csv = outer.children[1];
  equal(csv.values.path, fixture("reference/static.csv"));
  equal(csv.values.addressPreferredLifetime, 7 * 86400);
  equal(csv.values.addressValidLifetime, 30 * 86400);
  equal(csv.values.prefixPreferredLifetime, 7 * 86400);
  equal(csv.values.prefixValidLifetime, 30 * 86400);
  ok(csv.file.endsWith("main.conf"));
  equal(csv.line, 27);
});

Deno.test("reference server-id and DUID examples", () => {
  const sid = narrow(load("server-id.conf").serverId, "duid-ll");
  equal(sid.name, "server-id");
  equal(sid.values.hardwareType, 1);
  equal(hex(sid.values.linkLayerAddress), "002436ef1d89");

  const en = narrow(load("duid-en.conf").serverId, "duid-en");
  equal(en.values.enterpriseNumber, 40208);
  equal(hex(en.values.identifier), "1234567890abcdef");
  for (const f of ["duid-ll.conf", "duid-ll-server-id.conf"]) {
    equal(hex(narrow(load(f).serverId, "duid-ll").values.linkLayerAddress), "002436ef1d89");
  }
  for (const f of ["duid-llt.conf", "duid-llt-server-id.conf"]) {
    const llt = narrow(load(f).serverId, "duid-llt");
    equal(llt.values.hardwareType, 1);
    equal(hex(llt.values.linkLayerAddress), "002436ef1d89");
    // 2016-12-31T23:59:59Z in seconds since 2000-01-01 (decision 16)
    equal(llt.values.timestamp, Date.UTC(2016, 11, 31, 23, 59, 59) / 1000 - 946684800);
  }
});

Deno.test("reference logging examples", () => {
  const c = load("logging.conf");
  equal(c.logging.logMultiprocessing, false);
  deepEqual(c.logging.handlers.map((h) => h.type), ["console", "syslog"]);
  equal(c.logging.handlers[0].values.level, "debug-handling");
  equal(narrow(c.logging.handlers[0], "console").values.color, true);
  equal(c.logging.handlers[1].values.level, "warning");

  const con = load("console.conf").logging.handlers[0].values;
  deepEqual({ ...con }, { level: "debug-handling", color: true, format: "text" });

  const file = load("file.conf").logging.handlers[0].values;
  deepEqual({ ...file }, {
    path: "/var/log/dhcpkit/dhcpd.log",
    level: "info",
    rotate: "daily",
    keep: 7,
    format: "text",
  });

  const sys = load("syslog.conf").logging.handlers.map((h) => h.values);
  deepEqual(sys[0], {
    level: "warning",
    facility: "daemon",
    protocol: "dgram",
    format: "rfc3164",
  });
  deepEqual(sys[1], {
    destination: { kind: "socket", path: "/var/run/syslog" },
    level: "info",
    facility: "local3",
    protocol: "dgram",
    format: "rfc3164",
  });
  deepEqual(sys[2], {
    destination: { kind: "inet", host: "collector.example.com", port: 514 },
    level: "warning",
    facility: "local1",
    protocol: "stream",
    format: "rfc3164",
  });
});

Deno.test("reference statistics example", () => {
  const s = load("statistics.conf").statistics;
  deepEqual(s.interfaces, ["eth0"]);
  deepEqual(texts(s.subnets), ["2001:db8:0:1::/64", "2001:db8:0:2::/64"]);
  deepEqual(texts(s.relays), ["2001:db8:1:2::3"]);
});

Deno.test("reference listener examples", () => {
  const i = narrow(load("listen-interface.conf").listeners[0], "listen-interface");
  equal(i.values.interface, "eth0");
  equal(i.values.listenToSelf, true);
  equal(i.values.replyFrom?.text, "fe80::1");
  equal(i.values.linkAddress?.text, "2001:db8::1");
  deepEqual(i.values.marks, ["unmarked"]);

  const t = narrow(load("listen-tcp.conf").listeners[0], "listen-tcp");
  equal(t.values.address.text, "2001:db8::1:2");
  equal(t.values.maxConnections, 10);
  deepEqual(texts(t.values.allowFrom), ["2001:db8::ffff:1/128", "2001:db8:1:2::/64"]);

  const u = narrow(load("listen-unicast.conf").listeners[0], "listen-unicast");
  equal(u.values.address.text, "2001:db8::1:2");
  equal(u.values.port, 547);
});

Deno.test("reference filter examples", () => {
  const e = only(load("elapsed-time.conf"));
  deepEqual({ ...e.values }, { lessThan: 30 });
  deepEqual(e.children[0].values.messageTypes, [1]);

  const m = only(load("marked-with.conf"));
  equal(m.values.mark, "bla");
  equal(m.children[0].type, "ignore-request");

  equal(only(load("subnet.conf")).values.prefix.text, "2001:db8:dead::/48");
  const g = only(load("subnet-group.conf"));
  deepEqual(texts(g.values.prefixes), ["2001:db8:dead::/48", "2001:db8:beef::/48"]);
  equal(g.children.length, 1);
});

Deno.test("reference option handler examples", () => {
  deepEqual(
    { ...only(load("aftr-name.conf")).values },
    { alwaysSend: false, fqdn: "aftr.example.org" },
  );
  for (const t of ["copy-linklayer-id", "copy-remote-id", "copy-subscriber-id"]) {
    const h = only(load(`${t}.conf`));
    equal(h.type, t);
    deepEqual(h.values, {});
  }
  deepEqual({ ...only(load("domain-search-list.conf")).values }, {
    alwaysSend: false,
    domainNames: ["example.com", "example.net", "example.org"],
  });
  for (const t of ["iana-timing-limits", "iapd-timing-limits"]) {
    deepEqual({ ...only(load(`${t}.conf`)).values }, {
      minT1: 1800,
      maxT1: 43200,
      factorT1: 0.5,
      minT2: 1800,
      maxT2: 86400,
      factorT2: 0.8,
    });
  }
  deepEqual(only(load("ignore-request.conf")).values.messageTypes, [1]);
  deepEqual({ ...only(load("inf-max-rt.conf")).values }, { alwaysSend: true, limit: 43200 });
  deepEqual({ ...only(load("sol-max-rt.conf")).values }, { alwaysSend: true, limit: 43200 });
  const ntp = only(load("ntp-servers.conf")).values;
  deepEqual(ntp.serverFqdns, ["time-d.nist.gov"]);
  deepEqual(texts(ntp.serverAddresses), ["2610:20:6f15:15::27"]);
  deepEqual(texts(ntp.multicastAddresses), ["ff08::101"]);
  equal(ntp.alwaysSend, false);
  equal(only(load("preference.conf")).values.level, 255);
  deepEqual({ ...only(load("rate-limit.conf")).values }, {
    key: "remote-id",
    rate: 5,
    per: 30,
    burst: 5,
  });
  const dns = only(load("recursive-name-servers.conf"));
  ok(isSectionOf(dns, recursiveNameServersSection));
  deepEqual(texts(dns.values.addresses), ["2001:4860:4860::8888", "2001:4860:4860::8844"]);
  equal(dns.values.alwaysSend, false);
  equal(only(load("server-unicast.conf")).values.address.text, "2001:db8::1:2:3");
  deepEqual(texts(only(load("sip-server-addresses.conf")).values.addresses), [
    "2001:db8::1",
    "2001:db8::2",
  ]);
  deepEqual(only(load("sip-server-names.conf")).values.domainNames, ["example.org"]);
  deepEqual(texts(only(load("sntp-servers.conf")).values.addresses), ["2610:20:6f15:15::27"]);
});

Deno.test("reference static assignment examples", () => {
  for (
    const [f, file] of [
      ["static-csv.conf", "data/assignments.csv"],
      ["static-sqlite.conf", "data/assignments.sqlite"],
    ]
  ) {
    deepEqual({ ...only(load(f)).values }, {
      path: fixture(`reference/${file}`),
      addressPreferredLifetime: 86400,
      addressValidLifetime: 7 * 86400,
      prefixPreferredLifetime: 3 * 86400,
      prefixValidLifetime: 30 * 86400,
      maxRowLoss: 0.3,
    });
  }
});

Deno.test("reference leasequery examples", () => {
  const lq = only(load("leasequery.conf"));
  deepEqual(texts(lq.values.allowFrom), ["2001:db8::ffff:1/128", "2001:db8:1:2::/64"]);
  deepEqual(lq.values.sensitiveOptions, [21, 22]);
  deepEqual(lq.children.map((c) => [c.type, c.values.path]), [
    ["lq-sqlite", "/var/lib/dhcpkit/leasequery.sqlite"],
  ]);
  deepEqual(only(load("leasequery-keys.conf")).values.sensitiveOptions, [23, 23]);
  const bare = loadFixture("reference/lq-sqlite.conf", { hostChecks: false });
  deepEqual(bare.errors, []);
  equal(bare.issues.length, 1, "warning about a leasequery open to everyone");
});

Deno.test("reference MAP examples", () => {
  const rules = (c: ConfigSection) =>
    c.children.map((r) => ({
      ipv6: r.values.ipv6Prefix.text,
      ipv4: r.values.ipv4Prefix.text,
      ports: r.values.contiguousPorts,
      ratio: r.values.sharingRatio,
      fmr: r.values.forwardingMapping,
      ea: r.values.eaLength,
      offset: r.values.psidOffset,
    }));
  const expected = [
    {
      ipv6: "2001:db8:f000::/36",
      ipv4: "192.0.2.0/24",
      ports: 64,
      ratio: 16,
      fmr: true,
      ea: 12,
      offset: 6,
    },
    {
      ipv6: "2001:db8:9500::/40",
      ipv4: "198.51.100.0/24",
      ports: 4,
      ratio: 256,
      fmr: false,
      ea: 16,
      offset: 6,
    },
  ];
  const e = only(load("map-e.conf"));
  equal(e.values.alwaysSend, false);
  deepEqual(texts(e.values.brAddresses), ["2001:db8::1", "2001:db8::2"]);
  deepEqual(rules(e), expected);
  const t = only(load("map-t.conf"));
  equal(t.values.defaultMapping.text, "2001:db8:0:1::/64");
  deepEqual(rules(t), expected);
  deepEqual(rules(only(load("map-rule.conf"))), [expected[0]]);
});

Deno.test("every reference fixture loads without errors", () => {
  for (const entry of Deno.readDirSync(fixture("reference"))) {
    if (!entry.name.endsWith(".conf")) continue;
    const r = loadFixture(`reference/${entry.name}`, { hostChecks: false });
    deepEqual(r.errors.map(formatIssue), [], entry.name);
  }
  equal(INFINITY, 0xffffffff);
});
