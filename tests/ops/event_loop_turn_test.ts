/**
 * {@link SocketTurn}: the yield between chunks of a streamed TCP answer lets sockets that wait in
 * the event loop make progress, is shared by concurrent callers, and after `close` falls back to
 * timers (the test sanitizers check that nothing stays open).
 */

import assert from "node:assert/strict";
import { SocketTurn } from "../../src/server/event_loop_turn.ts";

Deno.test("socket turn: a receive waiting in the event loop completes within a turn or two", async () => {
  const turn = new SocketTurn();
  const receiver = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const sender = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  try {
    assert.equal(turn.polling, true);
    let received = false;
    const receiving = receiver.receive().then(() => received = true);
    await turn.next(); // the receive now waits in the event loop
    await sender.send(new Uint8Array([1]), receiver.addr);
    for (let i = 0; i < 2 && !received; i++) await turn.next();
    assert.equal(received, true);
    await receiving;
  } finally {
    turn.close();
    receiver.close();
    sender.close();
  }
});

Deno.test("socket turn: callers asking at the same time share one turn", async () => {
  const turn = new SocketTurn();
  try {
    const a = turn.next(), b = turn.next();
    assert.equal(a, b);
    await Promise.all([a, b]);
    const c = turn.next();
    assert.notEqual(c, a);
    await c;
  } finally {
    turn.close();
  }
});

Deno.test("socket turn: after close, turns still come (from the timers)", async () => {
  const turn = new SocketTurn();
  await turn.next();
  turn.close();
  assert.equal(turn.polling, false);
  await turn.next();
  turn.close(); // twice is fine
});
