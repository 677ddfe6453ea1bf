/**
 * A real server against hostile relays: crafted relay-forwards whose answers cannot be sent do
 * not kill workers or stop the server, and a relay that poisons the leasequery store cannot make
 * a later bulk or UDP leasequery crash it. Bulk messages are all counted.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import {
  ClientDataOption,
  ClientIdOption,
  ElapsedTimeOption,
  IAAddressOption,
  IANAOption,
  InformationRequestMessage,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryReplyMessage,
  LinkLayerDuid,
  LQRelayDataOption,
  type Message,
  OptionRequestOption,
  parseMessage,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  ReplyMessage,
  RequestMessage,
  serializeMessage,
  ServerIdOption,
  UnknownOption,
} from "../../src/protocol/mod.ts";
import { craftedRelayForward, unsendableRelayForward } from "../pipeline/helpers.ts";
import { frame, FrameReader, leasequery, seedClients } from "../leasequery/lq_helpers.ts";
import {
  baseConfig,
  freeTcpPort,
  freeUdpPort,
  informationRequest,
  makeWorkDir,
  RelayClient,
  ROOT,
  type RunningServer,
  SERVER_MAC,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

type Stats = { global: Record<string, number | Record<string, number>> };

async function stats(server: RunningServer): Promise<Stats["global"]> {
  return JSON.parse((await sendControlCommand(server.socket, "stats-json")).output[0]).global;
}

/** Resolves true when the server process is still running. */
async function running(server: RunningServer): Promise<boolean> {
  return await Promise.race([
    server.status.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), 200)),
  ]);
}

for (const workers of [1, 0]) {
  Deno.test({
    name: `hostile relay-forwards (workers ${workers}): no crash, handling errors counted`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = makeWorkDir();
      const port = freeUdpPort();
      writeConfig(
        join(dir, "server.conf"),
        baseConfig(
          port,
          "\n<recursive-name-servers>\n    address 2001:db8::53\n" +
            "</recursive-name-servers>\n",
        ).replace("workers 2", `workers ${workers}`),
      );
      const server = await startServer(dir);
      const client = new RelayClient(port);
      try {
        assert.equal((await client.ask(informationRequest()))?.type, 7);
        // Well within one exception window: before the fix, each one killed a worker (or threw
        // in the main thread) and the sixth stopped the server.
        // One at a time (64 KB datagrams overflow the socket buffer when sent in a burst), all
        // within a few seconds.
        let expected = 1;
        const started = Date.now();
        for (let i = 0; i < 10; i++) {
          for (const data of [craftedRelayForward(), unsendableRelayForward()]) {
            await client.sendRaw(data);
            expected++;
            await waitFor(
              async () => (await stats(server)).incoming_packets === expected,
              5_000,
              `${expected} incoming packets`,
            );
          }
        }
        assert.ok(Date.now() - started < 10_000, "sent within one exception window");
        await waitFor(
          async () => (await stats(server)).handling_errors === 10,
          10_000,
          "10 handling errors",
        );
        assert.ok(await running(server), "server still running");
        assert.equal((await client.ask(informationRequest()))?.type, 7);
        const global = await stats(server);
        assert.equal(global.incoming_packets, 22);
        assert.equal(global.handling_errors, 10);
        // The crafted ones are answered (without the huge echo), the unsendable ones are not.
        assert.equal(global.outgoing_packets, 12);
        const err = server.stderr();
        assert.doesNotMatch(err, /died|stopping|Uncaught/i);
        // Logged once per packet, with its id.
        const logged = err.split("\n").filter((l) =>
          /\[ERROR\] #[0-9A-F]{6}: cannot answer/.test(l)
        );
        assert.equal(logged.length, 10, err);
      } finally {
        client.close();
        await server.kill();
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

const SERVER_ID = new ServerIdOption(
  new LinkLayerDuid(1, new Uint8Array(SERVER_MAC.split(":").map((b) => parseInt(b, 16)))),
);
const LINK = "2001:db8:1::1";
const duid = (n: number) =>
  new LinkLayerDuid(1, new Uint8Array([0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xa0 + n]));

/** A Request for client `n` relayed with Relay Source Port and `padding` bytes of junk. */
function relayedRequest(n: number, padding: number | "max"): Uint8Array {
  const request = new RequestMessage(0x100 + n, [
    new ClientIdOption(duid(n)),
    SERVER_ID,
    new ElapsedTimeOption(0),
    new IANAOption(1, 0, 0, []),
  ]);
  const size = padding === "max"
    ? 65527 - 34 - 6 - 4 - 4 - serializeMessage(request).length
    : padding;
  return serializeMessage(
    new RelayForwardMessage(0, LINK, "fe80::1", [
      new RelaySourcePortOption(0),
      new UnknownOption(9999, new Uint8Array(size)),
      new RelayMessageOption(request),
    ]),
  );
}

async function bulkQuery(port: number): Promise<Message[]> {
  const conn = await Deno.connect({ transport: "tcp", hostname: "::1", port });
  try {
    const query = leasequery(QUERY_BY_LINK_ADDRESS, LINK, [new OptionRequestOption([47])]);
    await conn.write(frame(serializeMessage(query)));
    const reader = new FrameReader(conn);
    const out: Message[] = [];
    const timer = setTimeout(() => conn.close(), 5000);
    try {
      for (;;) {
        const data = await reader.next();
        if (!data) break;
        const m = parseMessage(data);
        out.push(m);
        if (m instanceof LeasequeryDoneMessage) break;
      }
    } catch {
      // closed by the timer
    } finally {
      clearTimeout(timer);
    }
    return out;
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

function hasRelayData(m: Message): boolean {
  const data = (m as LeasequeryReplyMessage).getOption(ClientDataOption)!;
  return data.options.some((o) => o instanceof LQRelayDataOption);
}

function clientOf(m: Message): string {
  const data = (m as LeasequeryReplyMessage).getOption(ClientDataOption)!;
  return (data.options[0] as ClientIdOption).duid.toHex();
}

for (const workers of [1, 0]) {
  Deno.test({
    name: `poisoned leasequery store (workers ${workers}): bulk and UDP queries survive`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = makeWorkDir();
      const port = freeUdpPort();
      const tcpPort = freeTcpPort();
      const db = join(dir, "lq.sqlite");
      // A client recorded by an older version, with 65 KB of relay data.
      seedClients(db, 1, { link: LINK });
      const poison = serializeMessage(
        new RelayForwardMessage(0, LINK, "fe80::1", [
          new UnknownOption(9999, new Uint8Array(65_400)),
        ]),
      );
      const blob = new Uint8Array(16 + poison.length);
      blob.set(poison, 16);
      const { DatabaseSync } = await import("node:sqlite");
      const sqlite = new DatabaseSync(db);
      sqlite.prepare("UPDATE clients SET relay_data = ?").run(blob);
      sqlite.close();
      for (const f of [db, `${db}-wal`, `${db}-shm`]) {
        try {
          Deno.chmodSync(f, 0o666);
        } catch {
          // not there
        }
      }
      const csv = join(dir, "static.csv");
      writeConfig(
        csv,
        `id,address,prefix\nduid:${duid(1).toHex()},2001:db8:1::a1,\n` +
          `duid:${duid(2).toHex()},2001:db8:1::a2,\n`,
      );
      writeConfig(
        join(dir, "server.conf"),
        baseConfig(
          port,
          `
<listen-tcp ::1>
    port ${tcpPort}
</listen-tcp>

<static-csv ${csv} />

<leasequery>
    <lq-sqlite ${db} />
</leasequery>
`,
        ).replace("workers 2", `workers ${workers}`),
      );
      const server = await startServer(dir);
      const client = new RelayClient(port);
      try {
        // Client 1 through a normal relay, client 2 through one adding ~65 KB of junk.
        for (const [n, padding] of [[1, 10], [2, "max"]] as const) {
          await client.sendRaw(relayedRequest(n, padding));
          const reply = await client.receive();
          assert.ok(reply instanceof ReplyMessage, `client ${n} got a reply`);
          const ia = reply.getOption(IANAOption)!;
          assert.ok(ia.options.some((o) => o instanceof IAAddressOption));
        }
        const before = await stats(server);

        const messages = await bulkQuery(tcpPort);
        assert.deepEqual(messages.map((m) => m.constructor), [
          LeasequeryReplyMessage,
          LeasequeryDataMessage,
          LeasequeryDataMessage,
          LeasequeryDoneMessage,
        ]);
        const clients = messages.slice(0, 3);
        const withRelay = new Map(clients.map((m) => [clientOf(m), hasRelayData(m)]));
        assert.equal(withRelay.size, 3);
        assert.equal(withRelay.get(duid(1).toHex()), true);
        assert.equal(withRelay.get(duid(2).toHex()), false);
        assert.ok(await running(server), "server still running after the bulk query");

        // Every bulk message counts in outgoing_packets; messages_out once per transaction.
        const after = await stats(server);
        assert.equal(
          (after.outgoing_packets as number) - (before.outgoing_packets as number),
          4,
        );
        const out = (s: Stats["global"]) => s.messages_out as Record<string, number>;
        assert.equal(out(after).leasequery_reply - out(before).leasequery_reply, 1);

        // UDP query by client-id with ORO 47, for the poisoned old client and client 2.
        const oldClient = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0]));
        for (const d of [oldClient, duid(2)]) {
          const reply = await client.ask(
            leasequery(QUERY_BY_CLIENTID, "::", [
              new ClientIdOption(d),
              new OptionRequestOption([47]),
            ]),
          );
          assert.ok(reply instanceof LeasequeryReplyMessage, "leasequery answered over UDP");
          assert.equal(clientOf(reply), d.toHex());
          assert.equal(hasRelayData(reply), false);
        }

        assert.ok(await running(server), "server still running");
        assert.equal((await client.ask(informationRequest()))?.type, 7);
        assert.doesNotMatch(server.stderr(), /Uncaught|died|stopping/i);
      } finally {
        client.close();
        await server.kill();
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

/** An extension whose handler leaves a rejected promise and an uncaught error behind. */
function rejecterExtension(root: string): string {
  return `import { defineExtension, defineSection, Handler, handlerFor, InformationRequestMessage }
  from ${JSON.stringify(new URL("mod.ts", `file://${root}`).href)};

class Rejecter extends Handler {
  handle(bundle) {
    if (!(bundle.request instanceof InformationRequestMessage)) return;
    if (bundle.request.transactionId !== 0xbad) return;
    Promise.reject(new Error("test rejection"));
    setTimeout(() => { throw new Error("test uncaught"); }, 0);
  }
}

const section = defineSection({
  type: "rejecter",
  kind: "handler",
  description: "Leaves errors behind (test).",
  keys: [],
});
export const rejecterExtension = defineExtension({
  name: "rejecter",
  handlers: [handlerFor(section, () => new Rejecter())],
});
`;
}

// workers 1: the errors are a worker's, which is replaced; workers 0 with the deno backend: the
// main thread's, which stop the server (the ffi backend always handles requests in I/O workers).
for (const workers of [1, 0]) {
  Deno.test({
    name: `uncaught errors (workers ${workers}): logged and counted, the process stays up; ` +
      (workers ? "too many restart the worker" : "too many in the main thread stop the server"),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = makeWorkDir();
      const port = freeUdpPort();
      writeConfig(join(dir, "rejecter.js"), rejecterExtension(ROOT));
      writeConfig(
        join(dir, "server.conf"),
        "extension ./rejecter.js\nmax-exceptions 5\nexception-window 60\n" +
          baseConfig(port, "\n<rejecter />\n").replace(
            "workers 2",
            `workers ${workers}\nio-backend ${workers ? "auto" : "deno"}`,
          ),
      );
      const server = await startServer(dir);
      const client = new RelayClient(port);
      const bad = () =>
        new InformationRequestMessage(0xbad, [
          new ClientIdOption(duid(9)),
          new ElapsedTimeOption(0),
        ]);
      try {
        // One bad request: two errors nothing caught, both logged; the server keeps answering.
        assert.equal((await client.ask(bad()))?.type, 7);
        await waitFor(
          () => /test uncaught/.test(server.stderr()) && /test rejection/.test(server.stderr()),
          10_000,
          "both errors logged",
        );
        assert.match(server.stderr(), /\[ERROR\] .*unhandled rejection: Error: test rejection/);
        assert.match(server.stderr(), /\[ERROR\] .*uncaught error: Error: test uncaught/);
        assert.ok(await running(server));
        assert.equal((await client.ask(informationRequest()))?.type, 7);
        // They count towards max-exceptions: two more bad requests (6 errors) restart the worker,
        // or stop the server the orderly way when they are the main thread's.
        await client.send(bad());
        await client.send(bad());
        if (workers) {
          await waitFor(
            () => /worker 1 died: more than 5 errors within 60 s/.test(server.stderr()),
            10_000,
            "the worker to be replaced",
          );
          await waitFor(
            async () => (await client.ask(informationRequest()))?.type === 7,
            10_000,
            "the replacement to answer",
          );
          assert.ok(await running(server));
          assert.doesNotMatch(server.stderr(), /stopping/);
          return;
        }
        const status = await Promise.race([
          server.status,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
        ]);
        assert.ok(status, "the server stopped");
        assert.match(server.stderr(), /More than 5 errors in 60 seconds: stopping/);
        assert.doesNotMatch(server.stderr(), /error: Uncaught/);
      } finally {
        client.close();
        await server.kill();
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}
