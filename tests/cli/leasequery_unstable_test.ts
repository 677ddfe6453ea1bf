/**
 * deno.json declares `"unstable": ["net"]`, so the UDP leasequery client works when run as
 * `deno run -A cli/main.ts leasequery ...` without `--unstable-net` (it used to die with
 * "Deno.listenDatagram is not a function"). A small leasequery responder on [::1] answers it.
 */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LinkLayerDuid,
  parseMessage,
  serializeMessage,
  ServerIdOption,
} from "../../src/protocol/mod.ts";
import { runCli } from "./helpers.ts";

Deno.test("leasequery over UDP runs with deno run -A, without --unstable-net", async () => {
  if (Deno.uid() !== 0) {
    console.log("note: skipped: the UDP leasequery client binds port 546, which needs root");
    return;
  }
  const responder = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const port = (responder.addr as Deno.NetAddr).port;
  const answered = (async () => {
    const [data, from] = await responder.receive();
    const query = parseMessage(data);
    assert.ok(query instanceof LeasequeryMessage, query.name);
    const reply = new LeasequeryReplyMessage(query.transactionId, [
      query.getOption(ClientIdOption)!,
      new ServerIdOption(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1]))),
    ]);
    await responder.send(serializeMessage(reply), from);
    return from as Deno.NetAddr;
  })();
  try {
    const r = await runCli([
      "leasequery",
      "--server",
      "::1",
      "--port",
      String(port),
      "--timeout",
      "5",
      "client-id",
      "00030001020000000001",
    ]);
    if (r.code === 1 && /port 546 is in use/.test(r.stderr)) {
      console.log("note: skipped: port 546 is in use on this machine (a DHCPv6 client?)");
      return;
    }
    assert.doesNotMatch(r.stderr, /listenDatagram is not a function/);
    assert.equal(r.code, 0, r.stderr);
    const from = await answered;
    assert.equal(from.port, 546, "the query comes from the client port");
    const printed = JSON.parse(r.stdout.trim());
    assert.equal(printed.type, "leasequery-reply");
  } finally {
    responder.close();
    await answered.catch(() => {});
  }
});
