/**
 * `io-batch-delay` in the `deno` backend ({@link BatchDelay}): when it waits and when not, with
 * the waits recorded instead of slept; then real servers (`workers 0`, `1`, `2`) with a long delay
 * answer a burst of requests without waiting once per request.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { BatchDelay } from "../../src/server/io/deno_backend.ts";
import {
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  serializeMessage,
} from "../../src/protocol/mod.ts";
import { INFORMATION_CONFIG, loopbackListenerConfig, serverIdConfig } from "../helpers/server.ts";
import {
  freeUdpPort,
  informationRequest,
  makeWorkDir,
  SERVER_MAC,
  startServer,
  writeConfig,
} from "./helpers.ts";

/** A BatchDelay whose waits are recorded and take `took(ms)` milliseconds of a fake clock. */
function recording(seconds: number, took: (ms: number) => number = (ms) => ms) {
  const sleeps: number[] = [];
  const state = { received: 0, allowed: true };
  const delay = new BatchDelay({
    seconds: () => seconds,
    received: () => state.received,
    allowed: () => state.allowed,
    sleep: (ms) => {
      sleeps.push(ms);
      return took(ms);
    },
  });
  return { delay, sleeps, state };
}

const now = () => performance.now();

Deno.test("deno batch delay: waits the configured time after a round of one or two requests", async () => {
  const { delay, sleeps } = recording(0.001);
  await delay.after(1, now());
  // A round long after the wait (the thread was idle in between).
  await delay.after(2, now() + 1000);
  assert.deepEqual(sleeps, [1, 1]);
});

Deno.test("deno batch delay: no wait after a round that came as a group, an empty one, or with the delay off", async () => {
  const { delay, sleeps } = recording(0.001);
  await delay.after(3, now());
  await delay.after(40, now());
  await delay.after(0, now());
  assert.deepEqual(sleeps, []);
  const off = recording(0);
  await off.delay.after(1, now());
  assert.deepEqual(off.sleeps, []);
});

Deno.test("deno batch delay: a round gathered by the previous wait is followed by another wait", async () => {
  const { delay, sleeps } = recording(0.1);
  await delay.after(1, now());
  // What arrived during the wait: received in the turn right after it.
  await delay.after(4, now());
  await delay.after(5, now());
  assert.deepEqual(sleeps, [100, 100, 100]);
  // An idle gap, then a group: no wait.
  await delay.after(6, now() + 1000);
  assert.deepEqual(sleeps, [100, 100, 100]);
});

Deno.test("deno batch delay: no wait while datagrams keep arriving; the batches until then are one round", async () => {
  const { delay, sleeps, state } = recording(0.001);
  const decided = delay.after(1, now());
  // Three more datagrams complete in the following microtask turns (queued in the socket).
  for (let i = 0; i < 3; i++) {
    await null;
    state.received++;
  }
  // Their batch is part of the same round: 4 requests, which came as a group.
  await delay.after(3, now());
  await decided;
  assert.deepEqual(sleeps, []);
});

Deno.test("deno batch delay: no wait while requests wait for lookups", async () => {
  const { delay, sleeps, state } = recording(0.001);
  state.allowed = false;
  await delay.after(1, now());
  assert.deepEqual(sleeps, []);
});

Deno.test("deno batch delay: a wait that overran (a starved core) skips the next one", async () => {
  let overrun = true;
  const { delay, sleeps } = recording(0.001, (ms) => overrun ? 5 * ms : ms);
  await delay.after(1, now()); // slept 5 ms instead of 1
  overrun = false;
  await delay.after(1, now() + 1000); // skipped
  await delay.after(1, now() + 2000);
  assert.deepEqual(sleeps, [1, 1]);
});

Deno.test("deno batch delay: the real wait blocks for about the delay", async () => {
  const delay = new BatchDelay({ seconds: () => 0.005, received: () => 0, allowed: () => true });
  const start = performance.now();
  await delay.after(1, start);
  assert.ok(performance.now() - start >= 4.5);
});

/** A configuration of a `deno` backend server on [::1]:port with a long `io-batch-delay`. */
function burstConfig(port: number, workers: number): string {
  return `io-backend deno
workers ${workers}
io-batch-delay 0.05
control-socket ctl.sock
pid-file server.pid

${serverIdConfig(SERVER_MAC)}
${loopbackListenerConfig(port)}
${INFORMATION_CONFIG}`;
}

const BURST = 100;

/** Send BURST relayed Information-requests at once; the replies that came within `withinMs`. */
async function burst(port: number, withinMs: number): Promise<number> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  try {
    const target: Deno.NetAddr = { transport: "udp", hostname: "::1", port };
    for (let i = 0; i < BURST; i++) {
      const relay = new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [
        new RelaySourcePortOption(0),
        new RelayMessageOption(informationRequest()),
      ]);
      await socket.send(serializeMessage(relay), target);
    }
    let replies = 0;
    const deadline = performance.now() + withinMs;
    const buffer = new Uint8Array(4096);
    while (replies < BURST) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<undefined>((r) =>
        timer = setTimeout(() => r(undefined), Math.max(0, deadline - performance.now()))
      );
      const got = await Promise.race([socket.receive(buffer), late]);
      clearTimeout(timer);
      if (!got) break;
      replies++;
    }
    return replies;
  } finally {
    socket.close();
  }
}

for (const workers of [0, 1, 2]) {
  Deno.test(
    `deno batch delay: a burst is answered at once, not one wait per request (workers ${workers})`,
    async () => {
      const dir = makeWorkDir();
      const port = freeUdpPort();
      writeConfig(join(dir, "server.conf"), burstConfig(port, workers));
      const server = await startServer(dir);
      try {
        // Warm up, and end with a wait in progress.
        assert.equal(await burst(port, 5000), BURST);
        // Waiting 50 ms per request (or per pair) would take 2.5 s or more for the burst;
        // receiving everything queued before each wait takes a few waits.
        assert.equal(await burst(port, 2000), BURST);
      } finally {
        await server.kill();
        Deno.removeSync(dir, { recursive: true });
      }
    },
  );
}
