/**
 * The looking glass with dynamic pools, against a real `dhcpkit serve`:
 * - SQLite lease store, two workers: after a real Request, `ctl explain` of that client and
 *   IAID shows its lease with what is left of it; a new client is shown what it would get; a
 *   client with a static row is told the row wins; and explaining (Solicit, Request, Renew,
 *   Release) leaves every row of the store and every counter of `stats-json` as it was. The
 *   subscriber page finds the pool lease by DUID, by address, and shows its state and
 *   remaining lifetime.
 * - PostgreSQL (a cluster of the test's own), main thread: explain names the
 *   `<static-postgresql>` key that matched with its row; the subscriber page (over HTTP with
 *   the token) finds the static row, the `<lq-postgresql>` lease and the pool lease in the
 *   PostgreSQL lease store, and never shows the password.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { ExplainTrace } from "../../src/pipeline/mod.ts";
import {
  ClientIdOption,
  ElapsedTimeOption,
  IAAddressOption,
  IANAOption,
  LinkLayerDuid,
  type Message,
  OptionRequestOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  ReleaseMessage,
  RemoteIdOption,
  RequestMessage,
  serializeMessage,
  ServerIdOption,
  toHex,
} from "../../src/protocol/mod.ts";
import { serverIdConfig } from "../helpers/server.ts";
import { postgresTest } from "../helpers/postgres.ts";
import {
  ctl,
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  RelayClient,
  SERVER_MAC,
  startServer,
  writeConfig,
} from "./helpers.ts";

const SERVER_DUID = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0xd4, 0xc9, 1]));
const duid = (n: number) => new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0x70, n]));
const hex = (n: number) => duid(n).toHex();

function head(port: number, workers: string): string {
  return `${workers}
control-socket ctl.sock
pid-file server.pid
${serverIdConfig(SERVER_MAC)}
<listen-unicast ::1>
    port ${port}
</listen-unicast>
`;
}

/** A relayed Request of client `n` for one IA_NA with `iaid`, from link 2001:db8:7::1. */
function requestOf(n: number, iaid: number, remoteId?: string): Uint8Array {
  const request = new RequestMessage(0x4200 + n, [
    new ClientIdOption(duid(n)),
    new ServerIdOption(SERVER_DUID),
    new OptionRequestOption([23]),
    new ElapsedTimeOption(0),
    new IANAOption(iaid, 0, 0, []),
  ]);
  return serializeMessage(
    new RelayForwardMessage(0, "2001:db8:7::1", "fe80::1", [
      new RelaySourcePortOption(0),
      ...(remoteId ? [new RemoteIdOption(40208, new TextEncoder().encode(remoteId))] : []),
      new RelayMessageOption(request),
    ]),
  );
}

/** The address of the first IA_NA of `reply`. */
function addressOf(reply: Message | undefined): string {
  const ia = (reply as RequestMessage | undefined)?.getOption(IANAOption);
  const a = ia?.options.find((o) => o instanceof IAAddressOption) as IAAddressOption | undefined;
  assert.ok(a, "the reply has an address");
  return a.address;
}

/** `ctl explain --json`; synthetic requests come relayed from the pool's link. */
async function explain(socket: string, ...args: string[]): Promise<ExplainTrace> {
  const relay = args.includes("--hex") ? [] : ["--link-address", "2001:db8:7::1"];
  const r = await ctl(socket, "explain", "--json", ...relay, ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The counters of `stats-json` (every worker's, the pools' lease events included). */
async function counters(socket: string): Promise<string> {
  const r = await ctl(socket, "stats-json");
  assert.equal(r.code, 0, r.stderr);
  const stats = JSON.parse(r.stdout);
  delete stats.uptime;
  delete stats.time;
  return JSON.stringify(stats);
}

Deno.test("explain and the subscriber page with pools (SQLite lease store, two workers)", async (t) => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  const webPort = freeTcpPort();
  const store = join(dir, "leases.sqlite");
  writeConfig(join(dir, "static.csv"), `id,address,prefix\nduid:${hex(9)},2001:db8:5::9,\n`);
  writeConfig(
    join(dir, "server.conf"),
    `${head(port, "workers 2")}
<web-ui>
    address ::1
    port ${webPort}
</web-ui>
<lease-store-sqlite ${store}>
</lease-store-sqlite>
<static-csv ${join(dir, "static.csv")}>
</static-csv>
<address-pool 2001:db8:7::/64>
    preferred-lifetime 1h
    valid-lifetime 2h
</address-pool>
`,
  );
  const server = await startServer(dir);
  const rows = () => {
    const db = new DatabaseSync(store, { readOnly: true });
    try {
      return JSON.stringify(db.prepare("SELECT * FROM leases ORDER BY pool, idx").all());
    } finally {
      db.close();
    }
  };
  try {
    const client = new RelayClient(port);
    let address: string;
    try {
      await client.sendRaw(requestOf(1, 77));
      address = addressOf(await client.receive());
    } finally {
      client.close();
    }
    const stored = rows();
    assert.match(stored, new RegExp(address));
    const counted = await counters(server.socket);
    // The real Request was counted as a pool lease event (so a counted explain would show).
    assert.match(counted, /pool_lease_events/);

    await t.step("a client with a lease: its lease and what is left of it", async () => {
      const trace = await explain(server.socket, "--duid", hex(1), "--iaid", "77", "renew");
      assert.equal(trace.outcome, "reply");
      const [step] = trace.pools!;
      assert.equal(step.pool, "na 2001:db8:7::/64");
      assert.equal(step.ia, "IA_NA 77");
      assert.equal(step.lease, address);
      assert.match(
        step.result,
        new RegExp(`^the client's lease ${address} \\(IAID 77, assigned, (1h 59m|2h 0m) left\\)`),
      );
      assert.match(step.result, /would be extended \(dry run: not written\)/);
      assert.match(JSON.stringify(trace.reply?.message), new RegExp(address));
      // Another IAID of the same client is another IA: the lease shows as held.
      const other = await explain(server.socket, "--duid", hex(1), "request");
      assert.match(other.pools![0].result, /^would bind 2001:db8:7:/);
      assert.notEqual(other.pools![0].lease, address);
      assert.match(other.pools![0].held[0], new RegExp(`^${address} \\(IAID 77, assigned`));
    });

    await t.step("a new client: what it would get, in text too", async () => {
      const trace = await explain(server.socket, "--duid", hex(2));
      assert.match(trace.pools![0].result, /^would offer 2001:db8:7:\S+ \(free; an offer/);
      const r = await ctl(
        server.socket,
        "explain",
        "--duid",
        hex(2),
        "--link-address",
        "2001:db8:7::1",
        "request",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Pools:\n {2}na 2001:db8:7::\/64 IA_NA 1 \(lease store /);
      assert.match(r.stdout, /result: would bind 2001:db8:7:\S+ \(free; dry run: not written/);
    });

    await t.step("a bad --iaid is one line and exit 1", async () => {
      const r = await ctl(server.socket, "explain", "--iaid", "4294967296");
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /iaid: 4294967296 is not a 32-bit number/);
    });

    await t.step("a static row in scope wins over the pool", async () => {
      const trace = await explain(server.socket, "--duid", hex(9), "request");
      assert.equal(trace.pools![0].result, "static assignment in scope wins");
      assert.match(JSON.stringify(trace.reply?.message), /2001:db8:5::9/);
    });

    await t.step("a release is explained, not done", async () => {
      const message = new ReleaseMessage(0x4299, [
        new ClientIdOption(duid(1)),
        new ServerIdOption(SERVER_DUID),
        new ElapsedTimeOption(0),
        new IANAOption(77, 0, 0, [new IAAddressOption(address, 0, 0)]),
      ]);
      const relayed = new RelayForwardMessage(0, "2001:db8:7::1", "fe80::1", [
        new RelayMessageOption(message),
      ]);
      const trace = await explain(server.socket, "--hex", toHex(serializeMessage(relayed)));
      assert.equal(trace.pools![0].result, `would release ${address} (dry run: not written)`);
      assert.equal(trace.outcome, "reply");
    });

    await t.step("explaining wrote and counted nothing", async () => {
      assert.equal(rows(), stored, "the lease store is as it was");
      assert.equal(await counters(server.socket), counted, "stats-json is as it was");
    });

    await t.step("the subscriber page finds the pool lease by DUID and by address", async () => {
      for (const q of [hex(1), address]) {
        const html = await (await fetch(`http://[::1]:${webPort}/subscribers?q=${q}`)).text();
        const table = html.match(/<table class="pool-leases">[\s\S]*?<\/table>/)?.[0] ?? "";
        assert.match(table, new RegExp(`${address}</td><td>assigned</td><td>(1h 59m|2h 0m)`), html);
        assert.match(table, /na 2001:db8:7::\/64<\/td><td>77<\/td>/);
        const href = table.match(/href="(\/explain\?[^"]*)"/)?.[1].replaceAll("&amp;", "&");
        assert.equal(
          href,
          `/explain?duid=${hex(1)}&iaid=77&type=renew&link-address=${encodeURIComponent(address)}`,
        );
        // One click to the explanation: the pool step shows that lease.
        const explained = await (await fetch(`http://[::1]:${webPort}${href}`)).text();
        const pools = explained.match(/<table class="pools">[\s\S]*?<\/table>/)?.[0] ?? "";
        assert.match(pools, new RegExp(`lease ${address} \\(IAID 77, assigned`), explained);
      }
      const none = await (await fetch(`http://[::1]:${webPort}/subscribers?q=${hex(3)}`)).text();
      assert.doesNotMatch(none, /<table class="pool-leases">/);
      assert.equal(rows(), stored, "the page's explanations wrote nothing either");
    });
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});

postgresTest(
  "explain and the subscriber page with PostgreSQL sources (main thread)",
  async (pg, t) => {
    const secret = "pg-secret-of-the-looking-glass";
    const passwordFile = await pg.createRole("dhcpkit", secret);
    await pg.createDatabase("dhcp");
    await pg.sql("ALTER DATABASE dhcp OWNER TO dhcpkit");
    const remoteKey = `remote-id:40208:${toHex(new TextEncoder().encode("customer-1042"))}`;
    await pg.sql(
      "CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT); " +
        "ALTER TABLE assignments OWNER TO dhcpkit; INSERT INTO assignments VALUES " +
        `('duid:${hex(5)}', '2001:db8:5::5', NULL), ` +
        `('${remoteKey}', '2001:db8:5::42', '2001:db8:50::/48')`,
      "dhcp",
    );
    const url = pg.url("dhcpkit", "dhcp");
    const dir = makeWorkDir();
    const port = freeUdpPort();
    const webPort = freeTcpPort();
    const token = "a-token-for-the-helpdesk-0123";
    writeConfig(join(dir, "token"), `${token}\n`);
    writeConfig(
      join(dir, "server.conf"),
      `${head(port, "workers 0\nio-backend deno")}
<web-ui>
    address ::1
    port ${webPort}
    token-file ${join(dir, "token")}
</web-ui>
<lease-store-postgresql ${url}>
    password-file ${passwordFile}
</lease-store-postgresql>
<leasequery>
    <lq-postgresql ${url}>
        password-file ${passwordFile}
    </lq-postgresql>
</leasequery>
<static-postgresql ${url}>
    password-file ${passwordFile}
</static-postgresql>
<address-pool 2001:db8:7::/64>
    preferred-lifetime 1h
    valid-lifetime 2h
</address-pool>
`,
    );
    const server = await startServer(dir);
    const page = async (q: string) => {
      const r = await fetch(`http://[::1]:${webPort}/subscribers?q=${encodeURIComponent(q)}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(r.status, 200);
      const html = await r.text();
      assert.ok(!html.includes(secret), "the page never shows the database password");
      assert.doesNotMatch(html, /class="bad"/, html);
      return html;
    };
    const tableOf = (html: string, cls: string) =>
      html.match(new RegExp(`<table class="${cls}">[\\s\\S]*?</table>`))?.[0] ?? "";
    try {
      await t.step(
        "explain names the static-postgresql key that matched, and its row",
        async () => {
          const trace = await explain(
            server.socket,
            "--remote-id",
            "40208:customer-1042",
            "request",
          );
          assert.equal(trace.outcome, "reply");
          const [source] = trace.sources;
          assert.equal(source.source, `PostgreSQL table assignments in ${url}`);
          assert.equal(source.key, remoteKey);
          assert.equal(
            source.location,
            `PostgreSQL table assignments in ${url} (row ${remoteKey})`,
          );
          assert.equal(source.asked[source.asked.length - 1], remoteKey);
          assert.match(
            source.result,
            new RegExp(`^address 2001:db8:5::42, .* \\(key ${remoteKey}`),
          );
          assert.equal(trace.pools![0].result, "static assignment in scope wins");
          const none = await explain(server.socket, "--duid", hex(6), "request");
          assert.equal(none.sources[0].result, "no assignment for any key");
          assert.equal(none.sources[0].key, undefined);
          assert.match(none.pools![0].result, /^would bind 2001:db8:7:/);
          assert.match(none.pools![0].store, /^lease store postgresql:\/\/dhcpkit@\/dhcp\?host=/);
        },
      );

      let address = "";
      await t.step("a real client gets a pool lease", async () => {
        const client = new RelayClient(port);
        try {
          await client.sendRaw(requestOf(1, 77, "customer-7"));
          address = addressOf(await client.receive(10_000));
        } finally {
          client.close();
        }
      });

      await t.step("explaining that client reads its lease and writes nothing", async () => {
        const rows = () =>
          pg.sql(
            "SELECT string_agg(row_to_json(l)::text, ',' ORDER BY idx) FROM pool_leases l",
            "dhcp",
          );
        const before = await rows();
        assert.match(before, new RegExp(address));
        for (const type of ["renew", "request", "solicit"]) {
          const trace = await explain(server.socket, "--duid", hex(1), "--iaid", "77", type);
          assert.match(trace.pools![0].result, new RegExp(`^the client's lease ${address} `));
        }
        await explain(server.socket, "--duid", hex(8), "request");
        assert.equal(await rows(), before, "pool_leases is as it was");
      });

      await t.step(
        "the page finds the static-postgresql row by remote-id and address",
        async () => {
          for (
            const q of ["customer-1042", "2001:db8:5::42", "2001:db8:50::/48", "2001:db8:50::1"]
          ) {
            const statics = tableOf(await page(q), "static");
            assert.match(statics, /2001:db8:5::42<\/td><td>2001:db8:50::\/48/, q);
            assert.match(statics, new RegExp(`\\(row ${remoteKey}\\)`), q);
          }
          assert.doesNotMatch(tableOf(await page("customer-9999"), "static"), /2001:db8:5::42/);
        },
      );

      await t.step(
        "... the pool lease in the PostgreSQL store and the lq-postgresql lease",
        async () => {
          for (const q of [hex(1), address]) {
            const html = await page(q);
            const pool = tableOf(html, "pool-leases");
            assert.match(pool, new RegExp(`${address}</td><td>assigned</td><td>(1h 59m|2h 0m)`), q);
            assert.match(pool, /lease store postgresql:\/\/dhcpkit@\/dhcp\?host=/);
          }
          // The leasequery store is written after the reply: wait for it.
          let leases = "";
          const deadline = Date.now() + 15_000;
          while (Date.now() < deadline) {
            leases = tableOf(await page("customer-7"), "leases");
            if (leases.includes(address)) break;
            await new Promise((r) => setTimeout(r, 200));
          }
          assert.match(leases, new RegExp(`${address}</td><td>(1h 59m|2h 0m)`));
          assert.match(leases, /postgresql:\/\/dhcpkit@\/dhcp\?host=/);
          assert.match(tableOf(await page(hex(1)), "leases"), new RegExp(address));
        },
      );

      await t.step("the password appears in no log line", () => {
        assert.ok(!server.stderr().includes(secret));
      });
    } finally {
      await server.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
