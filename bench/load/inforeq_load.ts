/**
 * Open-loop load generator for bench/load (the "info" scenario): relayed Information-requests at a
 * fixed rate, because perfdhcp 2.2 cannot send Information-requests.
 *
 *   deno run --unstable-net --allow-net bench/load/inforeq_load.ts --rate 5000 --period 5
 *
 * Every request is a Relay-Forward (hop 0, link-address = --link, peer fe80::1) around an
 * Information-request with its own client DUID (DUID-LL, counter in the MAC) and ORO [23, 24],
 * sent to [--server]:547 on a fixed schedule (not ping-pong). With --port 0 (default) the socket
 * has an ephemeral port and the Relay-Forward carries a Relay Source Port option (RFC 8357) so the
 * Relay-reply comes back to it; --port 547 binds 547 and leaves the option out. After the period
 * it waits --wait ms for late replies and prints `sent N received M` (M = Relay-replies holding a
 * Reply with DNS servers and a domain search list; others are counted on stderr).
 *
 * `--pace even` (default) sends each request at its own time, 1/rate apart, as perfdhcp does and
 * as a relay forwards the requests of many clients: a worker thread sleeps to each due time
 * (`Atomics.wait`, microsecond precision) and wakes the sender. `--pace ticks` sends what is due
 * at each tick of a `setTimeout(1)` loop, which Deno runs about every 2 ms: bursts of about ten
 * requests at 5,000/s (the only pacing before 2026-12-07; bench/load/PROFILE.md round eighteen).
 * @module
 */

import {
  ClientIdOption,
  DomainSearchListOption,
  ElapsedTimeOption,
  InformationRequestMessage,
  LinkLayerDuid,
  type Option,
  OptionRequestOption,
  parseMessage,
  RecursiveNameServersOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  RelaySourcePortOption,
  serializeMessage,
} from "../../src/protocol/mod.ts";

function arg(name: string, dflt: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : dflt;
}
const rate = Number(arg("rate", "1000"));
const period = Number(arg("period", "5"));
const waitMs = Number(arg("wait", "300"));
const server = arg("server", "2001:db8:1::1");
const link = arg("link", "2001:db8:1::2");
const bindAddr = arg("bind", link);
const port = Number(arg("port", "0"));
const pace = arg("pace", "even");
if (pace !== "even" && pace !== "ticks") {
  console.error(`--pace must be even or ticks, not ${pace}`);
  Deno.exit(2);
}

const sock = Deno.listenDatagram({ transport: "udp", hostname: bindAddr, port });
const dest: Deno.NetAddr = { transport: "udp", hostname: server, port: 547 };

function request(i: number): Uint8Array {
  const mac = new Uint8Array([0x02, 0x10, i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]);
  const ir = new InformationRequestMessage((i + 1) & 0xffffff, [
    new ClientIdOption(new LinkLayerDuid(1, mac)),
    new ElapsedTimeOption(0),
    new OptionRequestOption([23, 24]),
  ]);
  const opts: Option[] = [new RelayMessageOption(ir)];
  if (port !== 547) opts.unshift(new RelaySourcePortOption(0));
  // serializeMessage returns a view of a shared buffer: copy before the next call
  return serializeMessage(new RelayForwardMessage(0, link, "fe80::1", opts)).slice();
}

let sent = 0, received = 0, other = 0;
const receiving = (async () => {
  try {
    for (;;) {
      const [data] = await sock.receive();
      try {
        const m = parseMessage(data);
        const inner = m instanceof RelayReplyMessage
          ? m.options.find((o) => o instanceof RelayMessageOption)?.message
          : undefined;
        if (
          inner && inner.type === 7 &&
          inner.options.some((o) => o instanceof RecursiveNameServersOption) &&
          inner.options.some((o) => o instanceof DomainSearchListOption)
        ) {
          received++;
        } else other++;
      } catch {
        other++;
      }
    }
  } catch {
    // socket closed
  }
})();

const total = Math.round(rate * period);

/** Send the requests up to number `due`. */
async function sendUpTo(due: number): Promise<void> {
  while (sent < due) {
    await sock.send(request(sent), dest);
    sent++;
  }
}

/** Send what is due at each tick of a `setTimeout(1)` loop (bursts). */
async function sendOnTicks(): Promise<void> {
  const start = performance.now();
  while (sent < total) {
    await sendUpTo(Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate)));
    if (sent < total) await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * The ticker: a worker that sleeps to the due time of each request and posts how many are due.
 * Plain JavaScript from a blob, so the generator needs no read permission for it.
 */
const TICKER = `onmessage = (e) => {
  const { rate, total } = e.data;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now();
  for (let i = 1; i <= total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
    postMessage(i);
  }
};`;

/** Send each request at its due time, woken by the ticker (its messages say how many are due). */
async function sendEvenly(): Promise<void> {
  const url = URL.createObjectURL(new Blob([TICKER], { type: "text/javascript" }));
  const ticker = new Worker(url, { type: "module" });
  let due = 0;
  let wake: (() => void) | undefined;
  ticker.onmessage = (e: MessageEvent<number>) => {
    due = e.data;
    wake?.();
  };
  ticker.postMessage({ rate, total });
  while (sent < total) {
    if (sent >= due) await new Promise<void>((r) => wake = r);
    wake = undefined;
    await sendUpTo(due);
  }
  ticker.terminate();
  URL.revokeObjectURL(url);
}

if (pace === "even") await sendEvenly();
else await sendOnTicks();
await new Promise((r) => setTimeout(r, waitMs));
sock.close();
await receiving;
if (other) console.error(`other replies (no Reply with dns-servers + domain-search): ${other}`);
console.log(`sent ${sent} received ${received}`);
