/**
 * A released pool lease is no longer answered by `<leasequery>`: a real `dhcpkit serve` with
 * pools and an `<lq-sqlite>` store hands a relayed client an address and a prefix; `dhcpkit
 * leasequery` finds the client by the address and by its DUID; after the client's Release the
 * same queries find neither, while another client's lease is still found.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ClientIdOption,
  ElapsedTimeOption,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  LinkLayerDuid,
  type Message,
  ReleaseMessage,
  ReplyMessage,
  RequestMessage,
  ServerIdOption,
  StatusCode,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";
import { postgresTest } from "../helpers/postgres.ts";
import {
  baseConfig,
  freeUdpPort,
  MAIN,
  makeWorkDir,
  RelayClient,
  SERVER_MAC,
  startServer,
  writeConfig,
} from "./helpers.ts";

const SERVER_DUID = new LinkLayerDuid(
  1,
  new Uint8Array(SERVER_MAC.split(":").map((b) => parseInt(b, 16))),
);

const duid = (n: number) => new LinkLayerDuid(1, new Uint8Array([0x02, 0x20, 0, 0, 0, n]));

function request(n: number): RequestMessage {
  return new RequestMessage(0x100 + n, [
    new ClientIdOption(duid(n)),
    new ServerIdOption(SERVER_DUID),
    new ElapsedTimeOption(0),
    new IANAOption(1, 0, 0),
    new IAPDOption(2, 0, 0),
  ]);
}

/** The address and prefix a Reply hands out. */
function leases(m: Message | undefined): { address: string; prefix: IAPrefixOption } {
  assert.ok(m instanceof ReplyMessage, "a Reply");
  const address = m.getOption(IANAOption)!.options.find((o) => o instanceof IAAddressOption) as
    | IAAddressOption
    | undefined;
  const prefix = m.getOption(IAPDOption)!.options.find((o) => o instanceof IAPrefixOption) as
    | IAPrefixOption
    | undefined;
  assert.ok(address && prefix, "an address and a prefix");
  return { address: address.address, prefix };
}

/** `dhcpkit leasequery --server ::1 --port PORT QUERY...`: the leases of its Client Data. */
async function leasequery(port: number, ...query: string[]): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      "-A",
      MAIN,
      "leasequery",
      "--server",
      "::1",
      "--port",
      `${port}`,
    ]
      .concat(query),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const [reply] = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(reply.type, "leasequery-reply", JSON.stringify(reply));
  type Opt = { code: number; address?: string; prefix?: string; options?: Opt[] };
  const data = (reply.options as Opt[]).find((o) => o.code === 45);
  return (data?.options ?? []).filter((o) => o.code === 5 || o.code === 26).map((o) =>
    o.code === 5 ? `${o.address}` : `${o.prefix}`
  );
}

/** Poll `query` until it gives `want` (the PostgreSQL store writes in batches), then compare. */
async function eventually(query: () => Promise<string[]>, want: (got: string[]) => boolean) {
  let got: string[] = [];
  for (let i = 0; i < 50; i++) {
    got = await query();
    if (want(got)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return got;
}

/** The test with `lq` as the `<leasequery>` store section. */
async function releasedIsForgotten(lq: (dir: string) => string): Promise<void> {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(
    join(dir, "server.conf"),
    baseConfig(
      port,
      `<lease-store-sqlite ${join(dir, "leases.sqlite")} />
<address-pool 2001:db8:1::/112 />
<prefix-pool 2001:db8:100::/40>
    delegated-length 56
</prefix-pool>
<leasequery>
${lq(dir)}
</leasequery>
`,
    ),
  );
  const server = await startServer(dir);
  const client = new RelayClient(port);
  try {
    const one = leases(await client.ask(request(1)));
    const two = leases(await client.ask(request(2)));
    const prefixText = `${one.prefix.prefix}/${one.prefix.prefixLength}`;
    const found = await eventually(
      () => leasequery(port, "client-address", one.address),
      (got) => got.includes(one.address),
    );
    assert.ok(found.includes(one.address), found.join(" "));
    const byId = await leasequery(port, "client-id", duid(1).toHex());
    assert.equal(byId.length, 2, byId.join(" "));
    // Client two's lease may come in the store's next batch.
    const twoFound = await eventually(
      () => leasequery(port, "client-address", two.address),
      (got) => got.includes(two.address),
    );
    assert.ok(twoFound.includes(two.address), twoFound.join(" "));

    const released = await client.ask(
      new ReleaseMessage(0x200, [
        new ClientIdOption(duid(1)),
        new ServerIdOption(SERVER_DUID),
        new ElapsedTimeOption(0),
        new IANAOption(1, 0, 0, [new IAAddressOption(one.address, 0, 0)]),
        new IAPDOption(2, 0, 0, [one.prefix]),
      ]),
    );
    assert.ok(released instanceof ReplyMessage);
    assert.equal(released.getOption(StatusCodeOption)?.statusCode, StatusCode.Success);
    assert.deepEqual(released.getOptions(IANAOption), [], "nothing left unreleased");

    const gone = await eventually(
      () => leasequery(port, "client-address", one.address),
      (got) => got.length === 0,
    );
    assert.deepEqual(gone, []);
    assert.deepEqual(await leasequery(port, "client-address", one.prefix.prefix), [], prefixText);
    assert.deepEqual(await leasequery(port, "client-id", duid(1).toHex()), []);
    // The other client's lease is still known.
    assert.ok((await leasequery(port, "client-address", two.address)).includes(two.address));

    // A Release naming another client's address next to its own frees only its own, and the
    // other client's lease stays known.
    const three = leases(await client.ask(request(3)));
    // Known before the Release (the leasequery store writes in batches, later on a busy machine).
    const known = (g: string[]) => g.includes(three.address);
    assert.ok(
      known(await eventually(() => leasequery(port, "client-address", three.address), known)),
    );
    await client.ask(
      new ReleaseMessage(0x300, [
        new ClientIdOption(duid(2)),
        new ServerIdOption(SERVER_DUID),
        new ElapsedTimeOption(0),
        new IANAOption(1, 0, 0, [
          new IAAddressOption(two.address, 0, 0),
          new IAAddressOption(three.address, 0, 0),
        ]),
      ]),
    );
    assert.deepEqual(
      await eventually(() => leasequery(port, "client-address", two.address), (g) => !g.length),
      [],
    );
    // The Release's changes landed together (client 2's lease is gone): client 3's stays.
    assert.ok((await leasequery(port, "client-address", three.address)).includes(three.address));
  } finally {
    client.close();
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("pools: a released lease is no longer answered by leasequery (lq-sqlite)", async () => {
  await releasedIsForgotten((dir) => `    <lq-sqlite ${join(dir, "lq.sqlite")} />`);
});

postgresTest(
  "pools: a released lease is no longer answered by leasequery (lq-postgresql)",
  async (pg) => {
    const passwordFile = await pg.createRole("lq", "lq secret");
    Deno.chmodSync(passwordFile, 0o644);
    await pg.createDatabase("leases");
    await pg.sql("ALTER DATABASE leases OWNER TO lq");
    await releasedIsForgotten(() =>
      `    <lq-postgresql ${pg.url("lq", "leases")}>\n        password-file ${passwordFile}\n` +
      "    </lq-postgresql>"
    );
  },
);
