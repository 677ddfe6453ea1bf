import assert from "node:assert/strict";
import { RateLimitHandler, rateLimitKey } from "../../src/handlers/rate_limit/handler.ts";
import { SharedTokenBuckets, tableBytes } from "../../src/handlers/rate_limit/bucket_table.ts";
import { TransactionBundle } from "../../src/pipeline/mod.ts";
import {
  ClientIdOption,
  IANAOption,
  InterfaceIdOption,
  LinkLayerDuid,
  LinkLayerIdOption,
  RelayForwardMessage,
  RelayMessageOption,
  RemoteIdOption,
  SolicitMessage,
  SubscriberIdOption,
} from "../../src/protocol/mod.ts";
import { elapsed, pipeline, pipelineFromConfig, relayed, run } from "../pipeline/helpers.ts";
import { loopbackListenerConfig, serverIdConfig } from "../helpers/server.ts";

const A = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0xa]));
const B = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0xb]));

function solicit(duid: LinkLayerDuid, xid = 1): SolicitMessage {
  return new SolicitMessage(xid, [new ClientIdOption(duid), elapsed(0), new IANAOption(1)]);
}

function table(slots = 1024): SharedTokenBuckets {
  return new SharedTokenBuckets(new SharedArrayBuffer(tableBytes(slots)));
}

Deno.test("rate-limit: rate 5 per 30 drops the 6th to 20th Solicit of one DUID, not others", () => {
  let now = 1_700_000_000_000;
  const limiter = new RateLimitHandler("duid", 5, 30, 5, "test", () => now, table());
  const handler = pipeline([limiter]);
  const answered: boolean[] = [];
  for (let i = 0; i < 20; i++) {
    now += 100; // 20 requests within 2 seconds
    answered.push(run(handler, solicit(A, i)).result.outcome === "reply");
    // Another client is answered while A is limited.
    if (i === 7 || i === 15) assert.equal(run(handler, solicit(B, i)).result.outcome, "reply");
  }
  assert.deepEqual(answered, [...Array(5).fill(true), ...Array(15).fill(false)]);
  const dropped = run(handler, solicit(A, 99));
  assert.equal(dropped.result.outcome, "do_not_respond");
  assert.equal(dropped.reply, undefined);

  // One token comes back every 6 seconds...
  now += 6000;
  assert.equal(run(handler, solicit(A, 100)).result.outcome, "reply");
  assert.equal(run(handler, solicit(A, 101)).result.outcome, "do_not_respond");
  // ...and after a whole window the full burst is available again (capped at burst).
  now += 60_000;
  const again = Array.from(
    { length: 7 },
    (_, i) => run(handler, solicit(A, 200 + i)).result.outcome,
  );
  assert.deepEqual(again, [...Array(5).fill("reply"), "do_not_respond", "do_not_respond"]);
});

Deno.test("rate-limit: another DUID is answered while one is limited", () => {
  let now = 0;
  const limiter = new RateLimitHandler("duid", 5, 30, 5, "test", () => now, table());
  const handler = pipeline([limiter]);
  for (let i = 0; i < 20; i++) {
    now += 10;
    run(handler, solicit(A, i));
  }
  for (let i = 0; i < 5; i++) assert.equal(run(handler, solicit(B, i)).result.outcome, "reply");
  assert.equal(run(handler, solicit(B, 9)).result.outcome, "do_not_respond");
});

Deno.test("rate-limit: burst larger than rate", () => {
  let now = 0;
  const handler = pipeline([new RateLimitHandler("duid", 2, 10, 4, "t", () => now, table())]);
  const outcomes = Array.from({ length: 6 }, (_, i) => run(handler, solicit(A, i)).result.outcome);
  assert.deepEqual(outcomes, [
    "reply",
    "reply",
    "reply",
    "reply",
    "do_not_respond",
    "do_not_respond",
  ]);
  now += 5000; // rate 2 per 10 s: one token per 5 s
  assert.equal(run(handler, solicit(A, 10)).result.outcome, "reply");
  assert.equal(run(handler, solicit(A, 11)).result.outcome, "do_not_respond");
});

Deno.test("rate-limit: keys come from the relay closest to the client, else the DUID", () => {
  const client = solicit(A);
  const relay = relayed(client, "2001:db8:1::1", "fe80::1", [
    new InterfaceIdOption(new TextEncoder().encode("port1")),
    new RemoteIdOption(9, new Uint8Array([0xab])),
    new SubscriberIdOption(new Uint8Array([0xcd])),
    new LinkLayerIdOption(1, new Uint8Array([0, 1, 2, 3, 4, 5])),
  ]);
  const outer = new RelayForwardMessage(1, "2001:db8:9::1", "2001:db8:1::1", [
    new RemoteIdOption(9, new Uint8Array([0xee])),
    new RelayMessageOption(relay),
  ]);
  const wrap = (m: RelayForwardMessage | SolicitMessage) =>
    new TransactionBundle(
      new RelayForwardMessage(0, "2001:db8::1", "2001:db8::2", [
        new InterfaceIdOption(new TextEncoder().encode("eth0")),
        new RelayMessageOption(m),
      ]),
      false,
    );
  const b = wrap(outer);
  assert.equal(rateLimitKey(b, "duid"), `duid:${A.toHex()}`);
  assert.equal(rateLimitKey(b, "interface-id"), "interface-id:706f727431");
  assert.equal(rateLimitKey(b, "remote-id"), "remote-id:9:ab");
  assert.equal(rateLimitKey(b, "subscriber-id"), "subscriber-id:cd");
  assert.equal(rateLimitKey(b, "linklayer-id"), "linklayer-id:1:000102030405");
  // Directly connected: the server's own Interface-ID is not a client key; DUID fallback.
  const direct = wrap(client);
  assert.equal(rateLimitKey(direct, "interface-id"), `duid:${A.toHex()}`);
  assert.equal(rateLimitKey(direct, "remote-id"), `duid:${A.toHex()}`);
});

Deno.test("rate-limit: remote-id key limits everyone behind the same remote-id together", () => {
  const now = 0;
  const handler = pipeline([new RateLimitHandler("remote-id", 2, 60, 2, "t", () => now, table())]);
  const via = (duid: LinkLayerDuid, i: number) =>
    relayed(solicit(duid, i), "2001:db8:1::1", "fe80::1", [
      new RemoteIdOption(9, new Uint8Array([1])),
    ]);
  const opts = { source: "2001:db8:1::1", multicast: false, sourcePort: 547 };
  assert.equal(run(handler, via(A, 1), opts).result.outcome, "reply");
  assert.equal(run(handler, via(B, 2), opts).result.outcome, "reply");
  assert.equal(run(handler, via(A, 3), opts).result.outcome, "do_not_respond");
  assert.equal(run(handler, via(B, 4), opts).result.outcome, "do_not_respond");
});

Deno.test("rate-limit: handlers sharing one table (as workers do) count together", () => {
  const shared = table();
  const now = 0;
  const w1 = pipeline([new RateLimitHandler("duid", 5, 30, 5, "same", () => now, shared)]);
  const w2 = pipeline([new RateLimitHandler("duid", 5, 30, 5, "same", () => now, shared)]);
  const outcomes = Array.from(
    { length: 10 },
    (_, i) => run(i % 2 ? w2 : w1, solicit(A, i)).result.outcome === "reply",
  );
  assert.equal(outcomes.filter(Boolean).length, 5);
});

Deno.test("rate-limit: buckets are shared with a real Worker through a SharedArrayBuffer", async () => {
  const buffer = new SharedArrayBuffer(tableBytes(1024));
  const source = `
    import { SharedTokenBuckets } from "${
    new URL("../../src/handlers/rate_limit/bucket_table.ts", import.meta.url).href
  }";
    self.onmessage = (e) => {
      const t = new SharedTokenBuckets(e.data.buffer);
      let ok = 0;
      for (let i = 0; i < 50; i++) if (t.take("k", 6000000n, 24000000n, 1000n)) ok++;
      self.postMessage(ok);
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const main = new SharedTokenBuckets(buffer);
    assert.ok(main.take("k", 6000000n, 24000000n, 1000n));
    assert.ok(main.take("k", 6000000n, 24000000n, 1000n));
    const fromWorker = await new Promise<number>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.postMessage({ buffer });
    });
    assert.equal(fromWorker, 3, "the worker saw the 2 tokens the main thread took");
    assert.equal(main.take("k", 6000000n, 24000000n, 1000n), false);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

Deno.test("rate-limit: memory is bounded; idle buckets are reused before limited ones", () => {
  const t = new SharedTokenBuckets(new SharedArrayBuffer(tableBytes(64)));
  const interval = 6_000_000n, tolerance = 24_000_000n;
  let now = 1_000_000n;
  for (let i = 0; i < 5; i++) assert.ok(t.take("heavy", interval, tolerance, now));
  assert.equal(t.take("heavy", interval, tolerance, now), false);
  // 10,000 other clients pass through a 64-slot table...
  for (let i = 0; i < 10_000; i++) {
    now += 1n;
    assert.ok(t.take(`client-${i}`, interval, tolerance, now));
  }
  assert.equal(t.size, 64);
  // ...and the limited client is still limited (its bucket was the last to be evicted).
  assert.equal(t.take("heavy", interval, tolerance, now), false);
});

Deno.test("rate-limit: configured from <rate-limit> (with `key = value` style too)", () => {
  const handler = pipelineFromConfig(
    "<rate-limit>\n  key duid\n  rate = 2\n  per = 30\n</rate-limit>\n",
  );
  const outcomes = Array.from({ length: 3 }, (_, i) => run(handler, solicit(A, i)).result.outcome);
  assert.deepEqual(outcomes, ["reply", "reply", "do_not_respond"]);
});

Deno.test({
  name: "rate-limit: a server with 2 workers limits one client across both workers",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-rl-" });
    const port = 20000 + Math.floor(Math.random() * 20000);
    Deno.writeTextFileSync(
      `${dir}/dhcpkit.conf`,
      `user root\ngroup root\nworkers 2\npid-file ${dir}/pid\ncontrol-socket ${dir}/sock\n` +
        serverIdConfig() + loopbackListenerConfig(port) +
        `<rate-limit>\n rate 3\n per 60\n</rate-limit>\n` +
        `<recursive-name-servers>\n address 2001:db8::53\n</recursive-name-servers>\n`,
    );
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "--unstable-net", "-A", "cli/main.ts", "serve", `${dir}/dhcpkit.conf`],
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
    const { InformationRequestMessage, parseMessage, RelaySourcePortOption, serializeMessage } =
      await import("../../src/protocol/mod.ts");
    // Replies are told apart by transaction id: a late reply to an earlier request (a slow
    // machine) must not count as the answer to the current one.
    const replied = new Set<number>();
    let waiting: (() => void) | undefined;
    (async () => {
      while (true) {
        let data: Uint8Array;
        try {
          [data] = await socket.receive();
        } catch {
          return; // closed
        }
        const relay = parseMessage(data) as RelayForwardMessage;
        const inner = relay.getOption(RelayMessageOption)?.message as { transactionId?: number };
        if (inner?.transactionId !== undefined) replied.add(inner.transactionId);
        waiting?.();
      }
    })();
    const ask = async (duid: LinkLayerDuid, xid: number): Promise<boolean> => {
      const relay = new RelayForwardMessage(0, "2001:db8:5::1", "fe80::5", [
        new RelaySourcePortOption(0),
        new RelayMessageOption(
          new InformationRequestMessage(xid, [new ClientIdOption(duid), elapsed(0)]),
        ),
      ]);
      await socket.send(serializeMessage(relay), { transport: "udp", hostname: "::1", port });
      const deadline = Date.now() + 1000;
      while (!replied.has(xid) && Date.now() < deadline) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, deadline - Date.now());
          waiting = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
      return replied.has(xid);
    };
    try {
      const probe = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0x77]));
      let ready = false;
      for (let i = 0; i < 60 && !ready; i++) ready = await ask(probe, 1000 + i);
      assert.ok(ready, "server answers");
      // Requests are spread round-robin over the two workers; together they allow only 3.
      const answers: boolean[] = [];
      for (let i = 0; i < 8; i++) answers.push(await ask(A, 2000 + i));
      assert.deepEqual(answers, [true, true, true, false, false, false, false, false]);
    } finally {
      socket.close();
      server.kill("SIGTERM");
      await server.status;
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
