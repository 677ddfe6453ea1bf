/**
 * A real `dhcpkit serve` with `<lq-postgresql>`: the lease records that do not fit the write
 * queue while PostgreSQL is stopped are counted in `ctl stats`, `stats-json` and `/metrics`
 * (`leasequery_records_dropped`), and once the database is back every record is either written
 * (`leasequery_records_written`) or counted as dropped, none lost silently.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ElapsedTimeOption,
  IANAOption,
  type Message,
  ReplyMessage,
  RequestMessage,
  ServerIdOption,
  SolicitMessage,
} from "../../src/protocol/mod.ts";
import { postgresTest } from "../helpers/postgres.ts";
import {
  baseConfig,
  clientId,
  ctl,
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  RelayClient,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

/** Workers of {@link baseConfig}: each keeps its own queue. */
const WORKERS = 2;
const QUEUE_SIZE = 1;
/** Clients served while the database is stopped. */
const WHILE_STOPPED = 10;

let xid = 0x100;

/** Solicit, then Request what was advertised: the Reply is what the store records. */
async function exchange(client: RelayClient, n: number): Promise<void> {
  const advertise = await client.ask(
    new SolicitMessage(xid++, [clientId(n), new ElapsedTimeOption(0), new IANAOption(1, 0, 0)]),
  ) as Message | undefined;
  const serverId = advertise?.options.find((o) => o instanceof ServerIdOption);
  assert.ok(serverId, `client ${n} got no Advertise`);
  const reply = await client.ask(
    new RequestMessage(xid++, [
      clientId(n),
      serverId,
      new ElapsedTimeOption(0),
      new IANAOption(1, 0, 0),
    ]),
  );
  assert.ok(reply instanceof ReplyMessage, `client ${n} got no Reply`);
}

postgresTest(
  "lq-postgresql: lease records dropped while PostgreSQL is stopped are counted in ctl stats, " +
    "stats-json and /metrics",
  async (pg) => {
    const passwordFile = await pg.createRole("dhcpkit", "lq secret");
    await pg.createDatabase("dhcp");
    await pg.sql("ALTER DATABASE dhcp OWNER TO dhcpkit");
    const url = pg.url("dhcpkit", "dhcp");
    const dir = makeWorkDir();
    const port = freeUdpPort();
    const metricsPort = freeTcpPort();
    const rows = ["id,address,prefix"];
    for (let n = 1; n <= 1 + WHILE_STOPPED; n++) {
      rows.push(`duid:${clientId(n).duid.toHex()},2001:db8:9::${n},`);
    }
    writeConfig(join(dir, "assignments.csv"), rows.join("\n") + "\n");
    writeConfig(
      join(dir, "server.conf"),
      baseConfig(
        port,
        `<static-csv ${join(dir, "assignments.csv")} />
<leasequery>
    <lq-postgresql ${url}>
        password-file ${passwordFile}
        queue-size ${QUEUE_SIZE}
    </lq-postgresql>
</leasequery>
<metrics>
    address ::1
    port ${metricsPort}
</metrics>
`,
      ),
    );
    const server = await startServer(dir);
    const client = new RelayClient(port);
    /** The value of a leasequery family for this database in `stats-json` (-1: not shown). */
    const counter = async (name: string): Promise<number> => {
      const out = await ctl(server.socket, "stats-json");
      const series = (JSON.parse(out.stdout).extensions?.[name] ?? []) as Array<
        { labels: { store: string }; value: number }
      >;
      return series.find((s) => s.labels.store === url)?.value ?? -1;
    };
    try {
      // The series are shown from the start, at zero.
      await waitFor(async () => await counter("leasequery_records_dropped") === 0, 10_000, "zero");
      await exchange(client, 1);
      await waitFor(async () => await counter("leasequery_records_written") === 1, 10_000, "write");

      await pg.stopServer();
      for (let n = 2; n <= 1 + WHILE_STOPPED; n++) await exchange(client, n);
      // Each worker keeps at most queue-size records; the others are dropped and counted.
      const atLeast = WHILE_STOPPED - WORKERS * QUEUE_SIZE;
      await waitFor(
        async () => await counter("leasequery_records_dropped") >= atLeast,
        15_000,
        `at least ${atLeast} dropped records counted`,
      );
      const dropped = await counter("leasequery_records_dropped");
      assert.ok(dropped <= WHILE_STOPPED, `${dropped} dropped`);
      const text = await ctl(server.socket, "stats");
      assert.match(
        text.stdout,
        new RegExp(
          `- leasequery_records_dropped\\{store=${
            JSON.stringify(url).replace(/[.?]/g, "\\$&")
          }\\}: ${dropped}\\n`,
        ),
      );
      const metrics = await (await fetch(`http://[::1]:${metricsPort}/metrics`)).text();
      assert.ok(
        metrics.includes(`dhcpkit_leasequery_records_dropped_total{store="${url}"} ${dropped}\n`),
        metrics,
      );
      assert.match(metrics, /# TYPE dhcpkit_leasequery_records_dropped_total counter/);

      // Back: what was kept is written; every record is written or counted as dropped.
      await pg.startServer();
      await waitFor(
        async () => await counter("leasequery_records_written") === 1 + WHILE_STOPPED - dropped,
        20_000,
        "the kept records written",
      );
      assert.equal(await counter("leasequery_records_dropped"), dropped);
      const stored = Number(await pg.sql("SELECT count(*) FROM leasequery_clients", "dhcp"));
      assert.equal(stored, 1 + WHILE_STOPPED - dropped);
    } finally {
      client.close();
      await server.kill();
      if (!pg.running) await pg.startServer();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
