/**
 * The looking glass's parts on their own: escaping, the transaction ring and buffer, what a
 * transaction summary holds, the subscriber search (static CSV rows with their lines, leasequery
 * leases), the chart's rates, the `<web-ui>` configuration rules (FILE:LINE errors), the token
 * check, and the HTTP answers (token, read-only, CSP, 404) with fixed sources.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { formatIssue, loadConfigText } from "../../src/config/mod.ts";
import { installBuiltins } from "../../src/handlers/mod.ts";
import { SCHEMA } from "../../src/handlers/leasequery/sqlite.ts";
import { MessageHandler, StatisticsStore } from "../../src/pipeline/mod.ts";
import {
  ClientIdOption,
  LinkLayerDuid,
  RelayForwardMessage,
  RelayMessageOption,
  RemoteIdOption,
  serializeMessage,
  SolicitMessage,
} from "../../src/protocol/mod.ts";
import {
  summarizeTransaction,
  TransactionBuffer,
  transactionMatches,
  type TransactionRecord,
  TransactionRing,
} from "../../src/server/transactions.ts";
import { esc, link, query } from "../../src/server/web_ui/html.ts";
import { explainPage, subscribersPage } from "../../src/server/web_ui/pages.ts";
import { RateHistory } from "../../src/server/web_ui/rates.ts";
import {
  CONTENT_SECURITY_POLICY,
  type LookingGlassSources,
  readToken,
  tokenMatches,
  tokenOfHeader,
  WebUiServer,
} from "../../src/server/web_ui/server.ts";
import {
  explainParamsOfKey,
  readableKey,
  rowMatches,
  searchCsv,
  searchTerm,
} from "../../src/server/web_ui/subscribers.ts";
import { searchLeases } from "../../src/server/web_ui/database_search.ts";

const HOSTILE = `<img src=x onerror="alert('x')">`;

function record(n: number, extra: Partial<TransactionRecord> = {}): TransactionRecord {
  return {
    time: n,
    id: `#${n}`,
    interface: "eth0",
    client: "00030001020000000001",
    relays: [],
    linkAddress: "::",
    request: "solicit",
    outcome: "reply",
    reply: "advertise",
    assigned: [],
    statuses: [],
    ms: 1,
    ...extra,
  };
}

Deno.test("esc leaves no markup and no quote to break out of an attribute", () => {
  assert.equal(esc(HOSTILE), "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;");
  assert.equal(esc("a&b`c"), "a&amp;b&#96;c");
  assert.equal(esc(undefined), "");
  assert.equal(query({ q: "a b&c", empty: "", none: undefined }), "?q=a%20b%26c");
  assert.equal(
    link("/x", { q: '"><script>' }, "<b>"),
    '<a href="/x?q=%22%3E%3Cscript%3E">&lt;b&gt;</a>',
  );
});

Deno.test("pages escape packet and file strings everywhere", () => {
  const hostile = record(1, { remoteId: `40208:${HOSTILE}`, interfaceId: HOSTILE, client: "" });
  const html = subscribersPage(
    HOSTILE,
    {
      statics: [{
        source: `${HOSTILE}:2`,
        key: "remote-id:9:00",
        readable: HOSTILE,
        address: "2001:db8::1",
      }],
      leases: [],
      poolLeases: [{
        source: "lease store x",
        pool: HOSTILE,
        client: "0003000102",
        iaid: 7,
        lease: "2001:db8::7",
        state: "assigned",
        remaining: 60,
      }],
      problems: [HOSTILE],
    },
    [hostile],
  );
  assert.ok(!html.includes("<img"), html);
  assert.equal(html.split("&lt;img").length - 1, 7);
  assert.match(html, /href="\/explain\?duid=0003000102&amp;iaid=7&amp;type=renew"/);
  const explained = explainPage({ remoteId: HOSTILE }, undefined, HOSTILE);
  assert.ok(!explained.includes("<img"));
});

Deno.test("a delegated prefix's explain link is relayed from the same client's address lease", () => {
  const lease = (pool: string, client: string, lease: string) => ({
    source: "lease store x",
    pool,
    client,
    iaid: 7,
    lease,
    state: "assigned",
    remaining: 60,
  });
  const html = subscribersPage("00030001", {
    statics: [],
    leases: [],
    poolLeases: [
      lease("pd 2001:db8:100::/40", "00030001aa", "2001:db8:100:100::/56"),
      lease("na 2001:db8:1::/112", "00030001aa", "2001:db8:1::5"),
      lease("pd 2001:db8:100::/40", "00030001bb", "2001:db8:100:200::/56"),
    ],
    problems: [],
  }, []);
  const links = [...html.matchAll(/href="(\/explain\?[^"]*)"/g)].map((m) => m[1]);
  const pd = (client: string) => links.find((h) => h.includes(`duid=${client}`))!;
  assert.match(pd("00030001aa"), /link-address=2001%3Adb8%3A1%3A%3A5/);
  // Without an address lease the link stays without one (the form can add it).
  assert.doesNotMatch(pd("00030001bb"), /link-address/);
});

Deno.test("the ring keeps the newest, newest first, and filters", () => {
  assert.throws(() => new TransactionRing(0), RangeError);
  const ring = new TransactionRing(3);
  assert.deepEqual(ring.recent(), []);
  ring.addAll([1, 2].map((n) => record(n)));
  assert.deepEqual(ring.recent().map((r) => r.time), [2, 1]);
  ring.addAll([3, 4, 5].map((n) => record(n)));
  assert.equal(ring.size, 3);
  assert.deepEqual(ring.recent().map((r) => r.time), [5, 4, 3]);
  assert.deepEqual(ring.recent(2).map((r) => r.time), [5, 4]);
  assert.deepEqual(ring.recent(10, (r) => r.time % 2 === 1).map((r) => r.time), [5, 3]);
});

Deno.test("a worker's buffer keeps the newest up to its limit and drains once", () => {
  const buffer = new TransactionBuffer(2);
  for (const n of [1, 2, 3]) buffer.add(record(n));
  assert.deepEqual(buffer.drain().map((r) => r.time), [2, 3]);
  assert.deepEqual(buffer.drain(), []);
});

Deno.test("a transaction summary names the client, relay ids and what the reply says", async () => {
  const handler = new MessageHandler({
    serverDuid: new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1])),
    filters: [],
    handlers: [],
  });
  const client = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0xaa]));
  const data = serializeMessage(
    new RelayForwardMessage(0, "2001:db8:100::1", "fe80::1", [
      new RemoteIdOption(9, new Uint8Array([0, 1, 0xff])),
      new RemoteIdOption(40208, new TextEncoder().encode("second")),
      new RelayMessageOption(new SolicitMessage(1, [new ClientIdOption(client)])),
    ]),
  );
  const result = await handler.handle({
    data,
    source: "2001:db8:ffff::1",
    sourcePort: 547,
    interfaceName: "eth1",
    linkAddress: "::",
    receivedOverMulticast: false,
    receivedOverTcp: false,
    marks: [],
  }, new StatisticsStore());
  const r = summarizeTransaction(result, { id: "#1", interfaceName: "eth1" }, 1.23456, 1000);
  assert.equal(r.client, client.toHex());
  assert.equal(r.remoteId, "9:0x0001ff");
  assert.deepEqual(r.relays, ["2001:db8:100::1"]);
  assert.equal(r.linkAddress, "2001:db8:100::1");
  assert.equal(r.request, "solicit");
  assert.equal(r.reply, "advertise");
  assert.equal(r.ms, 1.235);
  assert.ok(transactionMatches(r, "9:0x0001"));
  assert.ok(transactionMatches(r, "02:00:00:00:00:aa".replace(/:/g, "")));
  assert.ok(!transactionMatches(r, "2001:db8:999::"));
  const unparsable = summarizeTransaction({ outcome: "unparsable", replies: [] }, {
    id: "#2",
    interfaceName: "eth1",
  }, 0);
  assert.equal(unparsable.request, "unparsable");
  assert.equal(unparsable.client, "");
});

Deno.test("search terms: addresses, prefixes, hex DUIDs and text ids", () => {
  assert.equal(rowMatches(searchTerm(""), "duid:00", "2001:db8::1"), false);
  assert.ok(rowMatches(searchTerm("2001:db8::1"), "duid:00", "2001:db8:0::1"));
  assert.ok(rowMatches(searchTerm("2001:db8:1aa::5"), "duid:00", undefined, "2001:db8:1aa::/48"));
  assert.ok(!rowMatches(searchTerm("2001:db8:1ab::5"), "duid:00", undefined, "2001:db8:1aa::/48"));
  assert.ok(rowMatches(searchTerm("2001:db8:1aa::/48"), "duid:00", undefined, "2001:db8:1aa::/48"));
  assert.ok(rowMatches(searchTerm("00:03:00:01:02:00:00:00:00:aa"), "duid:000300010200000000aa"));
  assert.ok(rowMatches(searchTerm("duid:000300010200000000AA"), "duid:000300010200000000aa"));
  const modem = "remote-id:9:" + "6d6f64656d2d30303432"; // modem-0042
  assert.ok(rowMatches(searchTerm("modem-0042"), modem));
  assert.ok(!rowMatches(searchTerm("modem-0043"), modem));
  assert.equal(readableKey(modem), "remote-id 9:modem-0042");
  assert.equal(readableKey("duid:000300010200000000aa"), "duid:000300010200000000aa");
  assert.deepEqual(explainParamsOfKey(modem, "2001:db8:100::42"), {
    "remote-id": "9:0x6d6f64656d2d30303432",
    type: "request",
    "link-address": "2001:db8:100::42",
  });
  assert.equal(explainParamsOfKey("linklayer-id:1:00"), undefined);
});

Deno.test("CSV search: matching rows with their lines; leasequery search: current leases", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-glass-" });
  try {
    const csv = join(dir, "a.csv");
    Deno.writeTextFileSync(
      csv,
      "id,address,prefix\n" +
        "duid:000300010200000000aa,2001:db8:100::aa,\n" +
        "remote-id-str:9:modem-0042,2001:db8:100::42,2001:db8:142::/48\n",
    );
    const hits = await searchCsv(csv, searchTerm("modem-0042"));
    assert.deepEqual(hits.map((h) => [h.source, h.address, h.prefix]), [
      [`${csv}:3`, "2001:db8:100::42", "2001:db8:142::/48"],
    ]);
    assert.equal((await searchCsv(csv, searchTerm("2001:db8:142::9"))).length, 1);

    const path = join(dir, "lq.sqlite");
    const db = new DatabaseSync(path);
    db.exec(SCHEMA);
    db.prepare(
      "INSERT INTO clients (id, client_id, link_address, last_interaction) VALUES (1, ?, ?, ?)",
    ).run("000300010200000000aa", "2001:0db8:0100:0000:0000:0000:0000:0001", 1000);
    const add = db.prepare(
      "INSERT INTO addresses (client_fk, address, preferred_lifetime_end, valid_lifetime_end) " +
        "VALUES (1, ?, ?, ?)",
    );
    add.run("2001:0db8:0100:0000:0000:0000:0000:00aa", 1500, 2000);
    add.run("2001:0db8:0100:0000:0000:0000:0000:00ab", 1000, 1100); // expired at 1200
    db.close();
    const leases = await searchLeases(path, searchTerm("000300010200000000aa"), 1200);
    assert.deepEqual(leases.map((l) => [l.lease, l.remaining, l.linkAddress]), [
      ["2001:db8:100::aa", 800, "2001:db8:100::1"],
    ]);
    assert.equal((await searchLeases(path, searchTerm("2001:db8:100::aa"), 1200)).length, 1);
    // An address the client no longer holds finds the client, with what it holds now.
    assert.deepEqual(
      (await searchLeases(path, searchTerm("2001:db8:100::ab"), 1200)).map((l) => l.lease),
      ["2001:db8:100::aa"],
    );
    assert.equal((await searchLeases(path, searchTerm("2001:db8:100::ac"), 1200)).length, 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("rates: per second between samples, 15 minutes kept, restarts when counters drop", () => {
  const h = new RateHistory(60_000);
  h.sample(0, 0, 0);
  h.sample(5000, 50, 25);
  assert.deepEqual(h.series(5000).points, [{ t: 5000, in: 10, out: 5 }]);
  h.sample(70_000, 60, 30);
  assert.deepEqual(h.series(70_000).points.map((p) => p.t), [70_000]);
  h.sample(75_000, 0, 0); // counters restarted: no negative rate
  h.sample(80_000, 5, 5);
  assert.deepEqual(h.series(80_000).points.map((p) => p.in), [0.15, 1]);
});

Deno.test("<web-ui>: defaults, loopback without a token, anything else needs token-file", () => {
  installBuiltins();
  const ok = loadConfigText("<web-ui>\n</web-ui>\n", "/tmp/w.conf", { hostChecks: false });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.config!.webUi!.address, "::1");
  assert.equal(ok.config!.webUi!.port, 8547);
  const v4 = loadConfigText("<web-ui>\n    address 127.0.0.1\n</web-ui>\n", "/tmp/w.conf");
  assert.deepEqual(v4.errors, []);
  const open = loadConfigText(
    "# looking glass\n<web-ui>\n    port 8000\n    address 2001:db8::10\n</web-ui>\n",
    "/tmp/w.conf",
    { hostChecks: false },
  );
  assert.deepEqual(open.errors.map(formatIssue), [
    "/tmp/w.conf:4: the web UI on 2001:db8::10 (not a loopback address) needs a token-file",
  ]);
  const two = loadConfigText("<web-ui/>\n<web-ui/>\n", "/tmp/w.conf", { hostChecks: false });
  assert.equal(two.errors.length, 1);
  assert.equal(two.config, undefined);
});

Deno.test("tokens: read from the first line, compared whole, from Bearer or Basic", async () => {
  assert.equal(readToken("t", () => "0123456789abcdef\nrest"), "0123456789abcdef");
  assert.throws(() => readToken("t", () => "short\n"), /shorter than 16/);
  assert.throws(() => readToken("/nonexistent/token"), /cannot read the web UI token file/);
  assert.ok(await tokenMatches("0123456789abcdef", "0123456789abcdef"));
  assert.ok(!(await tokenMatches("0123456789abcdeF", "0123456789abcdef")));
  assert.ok(!(await tokenMatches("", "0123456789abcdef")));
  assert.equal(tokenOfHeader("Bearer abc"), "abc");
  assert.equal(tokenOfHeader(`Basic ${btoa("helpdesk:s3cr:et")}`), "s3cr:et");
  assert.equal(tokenOfHeader("Basic !!!"), undefined);
  assert.equal(tokenOfHeader(null), undefined);
});

Deno.test("the site: token required, read-only, CSP on every answer, 404 elsewhere", async () => {
  const ring = new TransactionRing(10);
  ring.add(record(1, { remoteId: `1:${HOSTILE}` }));
  const sources: LookingGlassSources = {
    overview: () => ({
      duid: "00030001020000000001",
      version: "test",
      startedAt: 0,
      configFile: "/etc/dhcpkit/dhcpkit.conf",
      lastReload: { time: 0, successful: false, errors: [HOSTILE] },
      listeners: [],
      workers: "none",
    }),
    statsJson: () => Promise.resolve('{"global": {"incoming_packets": 7}}'),
    rates: () => ({ now: 0, window: 1, points: [] }),
    transactions: () => Promise.resolve(ring),
    searchSources: () => ({ csv: [], sqlite: [], leases: [] }),
    explain: () => Promise.reject(new Error("no pipeline here")),
  };
  const token = "0123456789abcdef";
  const server = WebUiServer.start("::1", 0, token, sources);
  const base = `http://[::1]:${server.addr.port}`;
  const get = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(base + path, init);
    return { status: r.status, headers: r.headers, body: await r.text() };
  };
  const auth = { headers: { authorization: `Bearer ${token}` } };
  try {
    const denied = await get("/");
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get("www-authenticate") ?? "", /^Basic /);
    assert.equal((await get("/", { headers: { authorization: "Bearer nope" } })).status, 401);
    const overview = await get("/", auth);
    assert.equal(overview.status, 200);
    assert.equal(overview.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.match(
      overview.body,
      /data-counter="incoming_packets"><span>incoming_packets<\/span><span>7</,
    );
    assert.ok(!overview.body.includes("<img"));
    const basic = { headers: { authorization: `Basic ${btoa(`any:${token}`)}` } };
    assert.equal((await get("/transactions?q=onerror", basic)).status, 200);
    const post = await get("/", { ...auth, method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.equal((await get("/nothing", auth)).status, 404);
    const head = await get("/", { ...auth, method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    const failed = await get("/explain?duid=00", auth);
    assert.equal(failed.status, 400);
    assert.match(failed.body, /no pipeline here/);
    const js = await get("/assets/chart.js", auth);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
  } finally {
    await server.stop();
  }
});
