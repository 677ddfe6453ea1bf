/**
 * Robustness under malformed traffic: one process floods the server with garbage at a high rate
 * (random bytes, truncated messages, server-to-client types, relay chains deeper than 32 layers,
 * unknown types) while another sends well-formed relayed Information-requests one after another.
 * Every well-formed request must be answered (the probe retransmits after a second, as a real
 * client does, so a request the kernel dropped on a machine short of CPU still counts as long as
 * its retransmission is answered; at least 98% must be answered at the first try), the server must
 * keep running and still answer afterwards. Runs with the default I/O backend (ffi on Linux: two I/O workers on the same
 * sockets) and with `io-backend deno` (`workers 0`: the main thread; `workers 2`: the worker pool),
 * on loopback.
 * @module
 */

import assert from "node:assert/strict";
import { loopbackListenerConfig, serverIdConfig } from "../helpers/server.ts";
import { e2eTest, freeUdpPort, PYTHON, sleep, type Topology, withTopology } from "./netns.ts";

const SCRIPT = new URL("./scapy_client.py", import.meta.url).pathname;
const SECONDS = 4;
const FLOOD_RATE = 5000;

function config(port: number, workers: number, io: string): string {
  return `workers ${workers}
io-backend ${io}

${serverIdConfig()}
${loopbackListenerConfig(port)}
<recursive-name-servers>
    address 2001:db8::53
</recursive-name-servers>
`;
}

/** Run the probe for `seconds`; resolves with its counts. */
async function probe(t: Topology, port: number, seconds: number) {
  const p = t.spawn(undefined, PYTHON, [SCRIPT, "probe", "::1", String(port), String(seconds)]);
  await p.wait((seconds + 30) * 1000);
  assert.equal(p.status?.code, 0, p.output);
  return JSON.parse(p.stdout.trim().split("\n").at(-1)!) as {
    sent: number;
    answered: number;
    first_try: number;
    retransmitted: number;
    late: number;
  };
}

for (const [workers, io] of [[0, "deno"], [2, "deno"], [2, "auto"]] as const) {
  e2eTest(
    `e2e robustness: malformed flood with workers ${workers}, io-backend ${io}, ` +
      "every good request answered",
    { scapy: true },
    () =>
      withTopology(async (t) => {
        const port = freeUdpPort();
        const server = await t.startServer({ config: config(port, workers, io), verbosity: 2 });
        const flood = t.spawn(undefined, PYTHON, [
          SCRIPT,
          "flood",
          "::1",
          String(port),
          String(SECONDS),
          String(FLOOD_RATE),
        ], "flood");
        await sleep(300); // let the flood get going first
        const during = await probe(t, port, SECONDS - 0.6);
        await flood.wait(30_000);
        const flooded = JSON.parse(flood.stdout.trim()) as { sent: number };
        console.log(
          `workers ${workers}: ${flooded.sent} malformed datagrams; ` +
            `${during.answered}/${during.sent} well-formed requests answered during the flood ` +
            `(${during.first_try} at the first try, ${during.retransmitted} retransmissions)`,
        );
        assert.ok(flooded.sent > FLOOD_RATE * (SECONDS - 1), "the flood ran at its rate");
        // The probe waits for each answer before the next request, so how many it sends depends on
        // how busy the machine is; what matters is that it ran during the flood and every one was
        // answered.
        assert.ok(during.sent >= 10, `the probe sent requests during the flood (${during.sent})`);
        assert.equal(during.answered, during.sent, "every well-formed request was answered");
        assert.ok(
          during.first_try >= 0.98 * during.sent,
          `at least 98% answered at the first try (${during.first_try}/${during.sent})`,
        );
        assert.equal(server.status, undefined, "the server is still running");
        const after = await probe(t, port, 0.5);
        assert.ok(after.sent > 0);
        assert.equal(after.answered, after.sent, "still answering after the flood");
        assert.doesNotMatch(server.log, /\[(ERR|FTL|CRT)|\[ERROR|\[CRITICAL|Uncaught/);
      }),
  );
}
