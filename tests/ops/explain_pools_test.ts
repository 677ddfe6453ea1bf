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

function head(port: number, webPort: number, workers: string): string {
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
    `${head(port, webPort, "workers 2")}
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
      assert.match(other.pools![0].result, /^would bind 2001:db8:7::/);
      assert.notEqual(other.pools![0].lease, address);
      assert.match(other.pools![0].held[0], new RegExp(`^${address} \\(IAID 77, assigned`));
    });

    await t.step("a new client: what it would get, in text too", async () => {
      const trace = await explain(server.socket, "--duid", hex(2));
      assert.match(trace.pools![0].result, /^would offer 2001:db8:7::\S+ \(free; an offer/);
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
      assert.match(r.stdout, /result: would bind 2001:db8:7::\S+ \(free; dry run: not written/);
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
        assert.match(
          table,
          new RegExp(`href="/explain\\?duid=${hex(1)}&amp;iaid=77&amp;type=renew"`),
        );
      }
      const none = await (await fetch(`http://[::1]:${webPort}/subscribers?q=${hex(3)}`)).text();
      assert.doesNotMatch(none, /<table class="pool-leases">/);
    });
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});
