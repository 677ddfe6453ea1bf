/**
 * Baseline echo server on `Deno.listenDatagram` (the server's current UDP I/O path): one
 * `await conn.receive(buf)` per datagram, `send` not awaited.
 *
 *   deno run --unstable-net --allow-net bench/spike_ffi/echo_deno.ts [host] [port]
 * @module
 */
const hostname = Deno.args[0] ?? "::1";
const port = Number(Deno.args[1] ?? 17000);
const conn = Deno.listenDatagram({ transport: "udp", hostname, port, reuseAddress: true });
console.error(`echo_deno listening on [${hostname}]:${port} pid ${Deno.pid}`);
const buf = new Uint8Array(65536);
while (true) {
  const [view, addr] = await conn.receive(buf);
  const reply = view.slice();
  reply[reply.length - 1] ^= 0xff; // "produce a reply": flip the last byte
  conn.send(reply, addr).catch(() => {});
}
