/**
 * Run inside a network namespace by ffi_socket_test.ts: sends three full batches of 1200-byte
 * datagrams through a socket with a small send buffer towards a link shaped to 8 kbit/s, so the
 * send buffer is full after a few datagrams. Prints one JSON line per batch. Arguments: when to
 * say it is stopping (ms, 0: never), and `single` to send every datagram on its own (no segmented
 * sends).
 */

import { FfiUdpSocket, openUdpSocket } from "../../../src/server/io/ffi_socket.ts";
import { libc, SOL_SOCKET } from "../../../src/server/io/libc.ts";

const SO_SNDBUF = 7;
const fd = openUdpSocket({ address: "::", port: 0 });
libc().setsockopt(fd, SOL_SOCKET, SO_SNDBUF, new Uint8Array(new Int32Array([4096]).buffer), 4);
const socket = new FfiUdpSocket(fd, 64, 2048);
const stopAfter = Number(Deno.args[0] ?? "0");
const segment = Deno.args[1] !== "single";
const started = performance.now();
if (stopAfter > 0) socket.stopping = () => performance.now() - started > stopAfter;
const destination = new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0xdd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
const data = new Uint8Array(1200);
for (let round = 0; round < 3; round++) {
  for (let i = 0; i < socket.batch; i++) socket.setSend(i, data, destination, 547, 0);
  const t = performance.now();
  const failed = socket.sendBatch(socket.batch, segment);
  const ms = Math.round(performance.now() - t);
  console.log(JSON.stringify({
    round,
    failed,
    ms,
    errno: socket.lastSendError,
    segmented: socket.segmented,
    refused: socket.segmentationRefused,
  }));
}
