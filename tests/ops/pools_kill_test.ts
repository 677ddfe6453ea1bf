/**
 * Pools survive SIGKILL: a real `dhcpkit serve` (two workers) answers relayed Requests of many
 * clients on loopback; it is killed with SIGKILL while requests are in flight, and every lease a
 * client got a Reply for is in the store (SQLite and PostgreSQL), bound to that client. After a
 * restart the same clients get the same leases back and a new client gets none of theirs.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  ClientIdOption,
  ElapsedTimeOption,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  LinkLayerDuid,
  type Message,
  ReplyMessage,
  RequestMessage,
  ServerIdOption,
} from "../../src/protocol/mod.ts";
import { postgresTest } from "../helpers/postgres.ts";
import {
  baseConfig,
  freeUdpPort,
  makeWorkDir,
  RelayClient,
  SERVER_MAC,
  startServer,
  writeConfig,
} from "./helpers.ts";

const POOLS = `<address-pool 2001:db8:1::/112 />
<prefix-pool 2001:db8:100::/40>
    delegated-length 56
</prefix-pool>
`;

const SERVER_DUID = new LinkLayerDuid(
  1,
  new Uint8Array(SERVER_MAC.split(":").map((b) => parseInt(b, 16))),
);

function duidOf(n: number): LinkLayerDuid {
  return new LinkLayerDuid(
    1,
    new Uint8Array([0x02, 0x10, 0, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]),
  );
}

function requestOf(n: number): RequestMessage {
  return new RequestMessage((n * 7919) & 0xffffff, [
    new ClientIdOption(duidOf(n)),
    new ServerIdOption(SERVER_DUID),
    new ElapsedTimeOption(0),
    new IANAOption(1, 0, 0),
    new IAPDOption(2, 0, 0),
  ]);
}

/** What a Reply gave its client: DUID hex, address, prefix. */
function leaseOf(
  m: Message | undefined,
): { duid: string; address?: string; prefix?: string } | undefined {
  if (!(m instanceof ReplyMessage)) return undefined;
  const duid = m.getOption(ClientIdOption)?.duid.toHex();
  if (!duid) return undefined;
  const a = m.getOption(IANAOption)?.options.find((o) => o instanceof IAAddressOption) as
    | IAAddressOption
    | undefined;
  const p = m.getOption(IAPDOption)?.options.find((o) => o instanceof IAPrefixOption) as
    | IAPrefixOption
    | undefined;
  return { duid, address: a?.address, prefix: p ? `${p.prefix}/${p.prefixLength}` : undefined };
}

type Stored = { type: string; resource: string; duid: string; state: string };

/**
 * Run the kill test with the store section `store`; `read` returns the stored leases once the
 * server is dead.
 */
async function killUnderLoad(store: string, read: () => Promise<Stored[]>): Promise<void> {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), baseConfig(port, "lookup-timeout 5\n" + store + POOLS));
  let server = await startServer(dir);
  const client = new RelayClient(port);
  const acked = new Map<string, { address?: string; prefix?: string }>();
  try {
    // Requests go out 20 every 50 ms (400/s) while replies are collected; the server is killed once 150
    // clients were answered, with requests still in flight.
    let next = 0;
    let killed = false;
    const receiving = (async () => {
      while (true) {
        const m = await client.receive(killed ? 500 : 5000);
        if (!m) return;
        const lease = leaseOf(m);
        if (lease?.address) acked.set(lease.duid, lease);
        if (!killed && acked.size >= 150) {
          // A burst of requests right before the kill: the server dies in the middle of them.
          killed = true;
          for (let i = 0; i < 50; i++) await client.send(requestOf(next++));
          server.child.kill("SIGKILL");
        }
      }
    })();
    while (!killed && next < 2000) {
      for (let i = 0; i < 20 && next < 2000; i++) await client.send(requestOf(next++));
      await new Promise((r) => setTimeout(r, 50));
    }
    await receiving;
    assert.ok(killed, `the server answered only ${acked.size} clients`);
    const status = await server.status;
    assert.equal(status.signal, "SIGKILL");

    const stored = await read();
    const byResource = new Map(stored.map((l) => [l.resource, l]));
    for (const [duid, lease] of acked) {
      for (const resource of [lease.address!, lease.prefix!]) {
        const row = byResource.get(resource);
        assert.ok(row, `${resource}, acknowledged to ${duid}, is not in the store`);
        assert.equal(row.duid, duid);
        assert.equal(row.state, "assigned");
      }
    }

    // Restart: the same clients get the same leases; a new one gets something else.
    server = await startServer(dir);
    const again = [...acked.keys()].slice(0, 5);
    for (const duid of again) {
      const n = [...Array(2000).keys()].find((i) => duidOf(i).toHex() === duid)!;
      const lease = leaseOf(await client.ask(requestOf(n)));
      assert.deepEqual(lease, { duid, ...acked.get(duid) });
    }
    const fresh = leaseOf(await client.ask(requestOf(5000)))!;
    assert.ok(fresh.address);
    assert.ok(![...acked.values()].some((l) => l.address === fresh.address));
  } finally {
    client.close();
    await server.kill();
  }
}

Deno.test({
  name: "pools, SQLite store: every lease acknowledged before SIGKILL is in the store",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = makeWorkDir();
    const path = join(dir, "leases.sqlite");
    try {
      await killUnderLoad(`<lease-store-sqlite ${path} />\n`, () => {
        const db = new DatabaseSync(path, { readOnly: true });
        try {
          return Promise.resolve(
            db.prepare("SELECT type, resource, duid, state FROM leases").all() as Stored[],
          );
        } finally {
          db.close();
        }
      });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

postgresTest(
  "pools, PostgreSQL store: every lease acknowledged before SIGKILL is in the store",
  async (pg) => {
    const passwordFile = await pg.createRole("pools", "pool secret");
    Deno.chmodSync(passwordFile, 0o644);
    await pg.createDatabase("dhcp");
    await pg.sql("ALTER DATABASE dhcp OWNER TO pools");
    await killUnderLoad(
      `<lease-store-postgresql ${pg.url("pools", "dhcp")}>\n    password-file ${passwordFile}\n` +
        "</lease-store-postgresql>\n",
      async () => {
        const out = await pg.sql(
          "SELECT type || ',' || resource || ',' || duid || ',' || state FROM pool_leases",
          "dhcp",
        );
        return out.split("\n").filter((l) => l).map((l) => {
          const [type, resource, duid, state] = l.split(",");
          return { type, resource, duid, state };
        });
      },
    );
  },
);
