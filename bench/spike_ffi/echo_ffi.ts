/**
 * Echo server on the FFI recvmmsg/sendmmsg socket ({@link FfiUdpSocket}).
 *
 *   deno run --allow-ffi --allow-read bench/spike_ffi/echo_ffi.ts [options]
 *     --host ::1 --port 17000 --batch 64
 *     --mode poll         dedicated Worker: blocking poll(100 ms) -> recvmmsg(DONTWAIT) -> sendmmsg
 *     --mode waitforone   dedicated Worker: blocking recvmmsg(MSG_WAITFORONE), SO_RCVTIMEO 100 ms
 *     --mode main-async   main thread: poll on Deno's blocking pool (nonblocking FFI, awaited),
 *                         then synchronous recvmmsg/sendmmsg; the event loop stays usable
 *     --source auto|kernel  IPV6_PKTINFO source on replies (auto) or none (kernel)
 *     --join ff02::1:2%veth0  join a multicast group on an interface (repeatable)
 *     --reply-from fe80::aa   source of replies to multicast requests (with --source auto)
 *     --libc /usr/lib/x86_64-linux-gnu/libc.so.6   dlopen path (for --allow-ffi=THAT_PATH)
 *     --verbose           log source, destination (pktinfo), interface of every datagram
 *
 * SIGINT/SIGTERM: set the worker's stop flag, wait for it (<= 100 ms), print counters, exit.
 * @module
 */
import { FfiUdpSocket, formatIPv6, MSG_DONTWAIT, setLibcPath } from "./ffi_udp.ts";
import type { EchoInit } from "./echo_ffi_worker.ts";

const opts = {
  host: "::1",
  port: 17000,
  batch: 64,
  mode: "poll" as "poll" | "waitforone" | "main-async",
  source: "auto" as "auto" | "kernel",
  join: [] as string[],
  replyFrom: undefined as string | undefined,
  libc: undefined as string | undefined,
  verbose: false,
};
for (let i = 0; i < Deno.args.length; i++) {
  const a = Deno.args[i];
  const v = () => Deno.args[++i];
  if (a === "--host") opts.host = v();
  else if (a === "--port") opts.port = Number(v());
  else if (a === "--batch") opts.batch = Number(v());
  else if (a === "--mode") opts.mode = v() as typeof opts.mode;
  else if (a === "--source") opts.source = v() as typeof opts.source;
  else if (a === "--join") opts.join.push(v());
  else if (a === "--reply-from") opts.replyFrom = v();
  else if (a === "--libc") opts.libc = v();
  else if (a === "--verbose") opts.verbose = true;
  else throw new Error(`unknown option ${a}`);
}
console.error(`echo_ffi pid ${Deno.pid} ${JSON.stringify(opts)}`);

if (opts.mode === "main-async") {
  let stopping = false;
  if (opts.libc) setLibcPath(opts.libc);
  const sock = FfiUdpSocket.open({ batch: opts.batch, rcvbuf: 4 << 20 });
  sock.bind(opts.host, opts.port);
  for (const g of opts.join) sock.joinMulticast(g.split("%")[0], g.split("%")[1]);
  if (opts.replyFrom) sock.multicastReplyFrom(opts.replyFrom);
  const stop = () => {
    stopping = true;
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const u8 = sock.u8, slot = sock.slotSize;
  let full = false;
  while (!stopping) {
    let n: number = full ? sock.recvBatch(MSG_DONTWAIT) : 0;
    if (n === 0) {
      if (!(await sock.waitAsync(100))) continue;
      n = sock.recvBatch(MSG_DONTWAIT);
      if (n === 0) continue;
    }
    for (let i = 0; i < n; i++) {
      const len = sock.recvLength(i);
      const r = sock.offRecvData + i * slot, s = sock.offSendData + i * slot;
      u8.copyWithin(s, r, r + len);
      u8[s + len - 1] ^= 0xff;
      sock.setReply(i, i, len, opts.source);
      if (opts.verbose) {
        console.error(`recv ${len} B from [${formatIPv6(u8, sock.recvNameOffset(i) + 8)}]`);
      }
    }
    sock.sendBatch(n);
    full = n === sock.batch;
  }
  sock.close();
  console.error(
    `echo_ffi main-async: received ${sock.received} sent ${sock.sent} recvmmsg calls ${sock.recvCalls}`,
  );
  Deno.exit(0);
}

const shared = new SharedArrayBuffer(64);
const ctl = new Int32Array(shared);
const worker = new Worker(new URL("./echo_ffi_worker.ts", import.meta.url), {
  type: "module",
  name: "ffi-io",
});
worker.postMessage({ ...opts, mode: opts.mode, shared } satisfies EchoInit);
// Wait for the bind result without blocking the main thread.
await Atomics.waitAsync(ctl, 1, 0).value;
if (Atomics.load(ctl, 1) < 0) Deno.exit(1);
console.error("echo_ffi ready");

const stop = async () => {
  Atomics.store(ctl, 0, 1);
  // The worker only notices the flag between blocking calls (poll/recvmmsg timeout 100 ms).
  // worker.terminate() alone would NOT interrupt a thread blocked inside an FFI call.
  const r = Atomics.waitAsync(ctl, 5, 0, 2000);
  if (r.async) await r.value;
  console.error(`echo_ffi: received ${ctl[2]} sent ${ctl[3]} recvmmsg calls ${ctl[4]}`);
  worker.terminate();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
