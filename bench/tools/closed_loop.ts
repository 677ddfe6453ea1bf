/**
 * The closed-loop load generator of the server benchmarks (bench/server_rate.ts,
 * bench/server_cpu_ab.ts): relayed requests of 256 clients, a fixed number kept outstanding
 * against a server on `[::1]`, every reply answered with the next request.
 * @module
 */

import { buildRequest } from "../../cli/query.ts";
import {
  type Message,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  serializeMessage,
} from "../../src/protocol/mod.ts";
import { sleep } from "../../tests/e2e/netns.ts";

/** The DNS options both benchmarks configure, so an Information-request has something to answer. */
export const DNS_OPTIONS_CONFIG = `<recursive-name-servers>
    address 2001:db8::53
    address 2001:db8::153
</recursive-name-servers>
<domain-search-list>
    domain-name example.com
</domain-search-list>
`;

/**
 * 256 distinct relayed requests of `type` (different clients), each in a Relay-forward with a
 * Relay Source Port option so the replies come back to the sender's port.
 */
export function relayedRequests(type: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) {
    const duid = `00030001020000${i.toString(16).padStart(2, "0")}0001`;
    const inner: Message = buildRequest(type, duid, [23, 24], false);
    const relay = new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [
      new RelaySourcePortOption(0),
      new RelayMessageOption(inner),
    ]);
    out.push(serializeMessage(relay).slice());
  }
  return out;
}

/** What one {@link closedLoop} run counted after its warm-up. */
export interface LoopResult {
  /** Requests sent (warm-up included). */
  sent: number;
  /** Replies received after the warm-up. */
  replies: number;
  /** Replies per second after the warm-up. */
  rate: number;
}

/**
 * Keep `window` of `packets` outstanding against `[::1]:port` for `warmupMs` and then `seconds`;
 * lost requests are replaced after 200 ms without any reply.
 */
export async function closedLoop(
  port: number,
  packets: Uint8Array[],
  seconds: number,
  window: number,
  warmupMs = 0,
): Promise<LoopResult> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const target: Deno.NetAddr = { transport: "udp", hostname: "::1", port };
  let sent = 0, received = 0, lastReply = Date.now(), running = true;
  const send = (n: number) => {
    for (let i = 0; i < n; i++) {
      socket.send(packets[sent++ % packets.length], target).catch(() => {});
    }
  };
  const receiver = (async () => {
    const buffer = new Uint8Array(65536);
    while (running) {
      try {
        await socket.receive(buffer);
      } catch {
        return;
      }
      received++;
      lastReply = Date.now();
      if (running) send(1);
    }
  })();
  const watchdog = setInterval(() => {
    if (Date.now() - lastReply > 200) send(window);
  }, 100);
  send(window);
  if (warmupMs > 0) await sleep(warmupMs);
  const start = Date.now(), startCount = received;
  await sleep(seconds * 1000);
  const replies = received - startCount;
  const rate = replies / ((Date.now() - start) / 1000);
  running = false;
  clearInterval(watchdog);
  socket.close();
  await receiver;
  return { sent, replies, rate };
}

/**
 * Send `packets` to `[::1]:port` at `rate` per second for `seconds`, evenly spaced (open loop:
 * replies are counted, not waited for), the way clients arriving one by one load a server. The
 * sender sleeps between requests in `Atomics.wait` (sub-millisecond, where Deno's timers sleep
 * 1-5 ms), and after every request lets its event loop poll the sockets once (a datagram to
 * itself: neither a timer nor a message, which Deno runs without polling the sockets), so replies
 * are counted as they come.
 */
export async function openLoop(
  port: number,
  packets: Uint8Array[],
  seconds: number,
  rate: number,
): Promise<LoopResult> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const target: Deno.NetAddr = { transport: "udp", hostname: "::1", port };
  let received = 0, running = true;
  const receiver = (async () => {
    const buffer = new Uint8Array(65536);
    while (running) {
      try {
        await socket.receive(buffer);
      } catch {
        return;
      }
      received++;
    }
  })();
  const turn = new SocketTurn();
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const total = Math.round(seconds * rate), start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (sent < due) socket.send(packets[sent++ % packets.length], target).catch(() => {});
    await turn.next();
    const next = start + (sent / rate) * 1000 - performance.now();
    if (next > 0) Atomics.wait(pause, 0, 0, next);
  }
  const elapsed = (performance.now() - start) / 1000;
  await sleep(200); // late replies
  running = false;
  turn.close();
  socket.close();
  await receiver;
  return { sent, replies: received, rate: received / elapsed };
}

/** One poll of the event loop's sockets: a datagram to a loopback socket of its own, awaited. */
class SocketTurn {
  readonly #socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  readonly #buffer = new Uint8Array(16);
  readonly #byte = new Uint8Array(1);
  #pending = this.#receive();

  #receive(): Promise<unknown> {
    return this.#socket.receive(this.#buffer).catch(() => {});
  }

  async next(): Promise<void> {
    await this.#socket.send(this.#byte, this.#socket.addr);
    await this.#pending;
    this.#pending = this.#receive();
  }

  close(): void {
    this.#socket.close();
  }
}
