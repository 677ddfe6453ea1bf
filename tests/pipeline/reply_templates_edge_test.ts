/**
 * Edge cases of reused answers to Information-requests (reply_templates.ts): each test feeds the
 * same packets to a pipeline that reuses answers (`handle(p, stats)`) and to one that never does
 * (`handle(p, stats, undefined, false)`) and compares what a caller sees and the statistics; two
 * show how a handler that declares itself alike wrongly is caught.
 * @module
 */

import assert from "node:assert/strict";
import {
  CannotRespond,
  Handler,
  type IncomingPacket,
  type MessageHandler,
  MISSES_BEFORE_SPARSE,
  RECHECK_EVERY,
  StatisticsStore,
  TEMPLATE_LIMIT,
  type TransactionBundle,
} from "../../src/pipeline/mod.ts";
import {
  ClientIdOption,
  ElapsedTimeOption,
  InformationRequestMessage,
  InterfaceIdOption,
  type LinkLayerDuid,
  type Message,
  type Option,
  OptionRequestOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  RemoteIdOption,
  serializeMessage,
  UnknownOption,
} from "../../src/protocol/mod.ts";
import { packet, pipelineFromConfig, settled } from "./helpers.ts";
import { CATEGORIES, compare, duidOption, fromRelay } from "./reply_template_helpers.ts";

const CONFIG = `
<recursive-name-servers>
    address 2001:db8::53
</recursive-name-servers>
<domain-search-list>
    domain-name example.com
</domain-search-list>
<subnet 2001:db8:1::/48>
    <sntp-servers>
        address 2001:db8::123
    </sntp-servers>
</subnet>
`;

function pair(handlers: Handler[] = []): [MessageHandler, MessageHandler] {
  return [
    pipelineFromConfig(CONFIG, { categories: CATEGORIES(), handlers: [...handlers] }),
    pipelineFromConfig(CONFIG, { categories: CATEGORIES(), handlers: [...handlers] }),
  ];
}

function info(xid: number, options: Option[]): InformationRequestMessage {
  return new InformationRequestMessage(xid & 0xffffff, [
    ...options,
    new ElapsedTimeOption(0),
    new OptionRequestOption([23, 24, 31]),
  ]);
}

/** An Information-request from client `client` with `xid`, relayed once with peer `peer`. */
function relayedInfo(
  client: number,
  xid: number,
  peer = "fe80::1",
  relayOptions: Option[] = [],
  cid: Option[] = [duidOption(client)],
): Message {
  return new RelayForwardMessage(0, "2001:db8:1::2", peer, [
    new InterfaceIdOption(new TextEncoder().encode("port-1")),
    ...relayOptions,
    new RelayMessageOption(info(xid, cid)),
  ]);
}

/** Wrongly declared alike: puts the client's DUID (hex) into an option of the reply. */
class EchoDuid extends Handler {
  static readonly informationRequestsAlike = true;
  override handle(bundle: TransactionBundle): void {
    const duid = bundle.request.getOption(ClientIdOption)?.duid.toHex() ?? "";
    bundle.response.options.push(new UnknownOption(65001, new TextEncoder().encode(duid)));
  }
}

Deno.test("wrongly alike: the same client asking again does not confirm a template", () => {
  // Only another client (another DUID, another transaction) confirms: the same client asking
  // again with a new transaction id, or from another address, would prove nothing about its
  // DUID, and the next client would get the first one's DUID in its reply.
  const sameClientNewXid = [
    packet(relayedInfo(1, 100), fromRelay),
    packet(relayedInfo(1, 101), fromRelay), // same DUID and address: "confirms"
    packet(relayedInfo(2, 102), fromRelay), // reused: carries client 1's DUID in option 65001
  ];
  const sameClientNewAddress = [
    packet(relayedInfo(1, 100, "fe80::1"), fromRelay),
    packet(relayedInfo(1, 100, "fe80::2"), fromRelay), // same DUID, same xid, other peer
    packet(relayedInfo(2, 102, "fe80::3"), fromRelay),
  ];
  const failures: string[] = [];
  for (
    const [name, packets] of [["new xid", sameClientNewXid], [
      "new address",
      sameClientNewAddress,
    ]] as const
  ) {
    try {
      compare(pair([new EchoDuid()]), packets);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  assert.deepEqual(failures, []);
});

/** Wrongly declared alike: drops clients whose MAC ends in an odd byte (a block list, say). */
class DropOdd extends Handler {
  static readonly informationRequestsAlike = true;
  override pre(bundle: TransactionBundle): void {
    const duid = bundle.request.getOption(ClientIdOption)?.duid as LinkLayerDuid | undefined;
    const address = duid?.linkLayerAddress;
    if (address && address[address.length - 1] % 2 === 1) throw new CannotRespond("blocked");
  }
}

Deno.test("wrongly alike: a full answer that is no reply, for a key with a template, turns reuse off", () => {
  // A full answer of do_not_respond (or status, for_other_server, handling_error) for a key whose
  // template replies shows that the handlers do not answer alike. Two even clients confirm the
  // template; the odd clients after them get reused replies where the full way stays silent, until
  // the first recheck (one reuse in RECHECK_EVERY is made the full way), which turns reuse off:
  // a wrong declaration is caught only when a request made the full way shows it.
  const [reusing, full] = pair([new DropOdd()]);
  const statsA = new StatisticsStore(), statsB = new StatisticsStore();
  const differing: number[] = [];
  let total = 0;
  const run = (client: number) => {
    const p = packet(relayedInfo(client, client), fromRelay);
    const a = settled(reusing.handle(p, statsA));
    const b = settled(full.handle(p, statsB, undefined, false));
    if (a.outcome !== b.outcome) differing.push(total);
    total++;
  };
  run(0);
  run(2);
  for (let i = 0; i < 2 * RECHECK_EVERY; i++) run(2 * i + 1);
  assert.equal(reusing.reusesAnswers, false);
  assert.ok(differing.length > 0 && differing.length < RECHECK_EVERY, `${differing.length}`);
  // Nothing differs once the recheck turned reuse off.
  assert.ok(differing.at(-1)! < RECHECK_EVERY + 2, `last difference at ${differing.at(-1)}`);
});

Deno.test("reuse: direct requests (source not in the key) are sent to each packet's own source", () => {
  const packets = Array.from({ length: 8 }, (_, i) =>
    packet(info(500 + i, [duidOption(i)]), {
      source: `fe80::${i + 1}`,
      sourcePort: 546 + i, // a client's source port never matters: replies go to 546
      multicast: true,
    }));
  const { reused } = compare(pair(), packets);
  assert.equal(reused, 6);
});

Deno.test("reuse: Relay Source Port option: the reused reply goes to each relay's own port", () => {
  const withRsp = (i: number) =>
    packet(relayedInfo(i, i, "fe80::1", [new RelaySourcePortOption(0)]), {
      ...fromRelay,
      sourcePort: 40000 + i,
    });
  const withoutRsp = (i: number) =>
    packet(relayedInfo(i, i), { ...fromRelay, sourcePort: 40000 + i });
  const packets = [
    ...Array.from({ length: 6 }, (_, i) => withRsp(i)),
    ...Array.from({ length: 6 }, (_, i) => withoutRsp(i)),
  ];
  const { reused } = compare(pair(), packets);
  assert.equal(reused, 8);
});

Deno.test("reuse: masked values that do not parse are dropped as the full way drops them", () => {
  const raw = (bytes: number[]) => [new UnknownOption(1, new Uint8Array(bytes))];
  // Keys need a confirmed template of the same length first: two valid clients per key.
  const ll = (i: number) => [0, 3, 0, 1, 2, 0, 0, 0, 0, i]; // DUID-LL, 10 bytes
  const packets: IncomingPacket[] = [];
  const add = (cid: Option[], peer = "fe80::1", nested = false) => {
    let m: Message = relayedInfo(0, packets.length, peer, [], cid);
    if (nested) {
      m = new RelayForwardMessage(1, "2001:db8:1::3", "2001:db8:1::2", [new RelayMessageOption(m)]);
    }
    packets.push(packet(m, fromRelay));
  };
  for (const nested of [false, true]) {
    add(raw(ll(1)), "fe80::1", nested);
    add(raw(ll(2)), "fe80::2", nested);
    add(raw(ll(3)), "fe80::3", nested); // reused
    add(raw([0, 4, 0, 1, 2, 0, 0, 0, 0, 9]), "fe80::4", nested); // DUID-UUID of 8 bytes
    add(raw([0, 1, 0, 1, 2, 0, 0, 0, 0, 9]), "fe80::5", nested); // DUID-LLT: fits (6-byte header)
    add(raw(ll(6)), "ff02::1:2", nested); // multicast peer address (innermost layer)
  }
  // Short DUIDs: zero and one byte are no DUID, two bytes are a DUID of an unknown type.
  for (const len of [0, 1, 2]) {
    for (let i = 0; i < 4; i++) add(raw([0, 0xff].slice(0, len)));
  }
  for (let i = 0; i < 4; i++) add(raw([0, 0xff, 0, 0, i]));
  // Oversize DUIDs: 129 bytes of an unknown type are too long, 128 are not.
  for (const len of [130, 131]) {
    for (let i = 0; i < 4; i++) add(raw([0, 0xff, ...new Array(len - 3).fill(0), i]));
  }
  const [reusing, full] = pair();
  compare([reusing, full], packets);
  assert.equal(reusing.reusesAnswers, true);
});

Deno.test("reuse: the probe/learn state machine over many keys (clearing, sparse turns, rechecks)", () => {
  const packets: IncomingPacket[] = [];
  // More keys than TEMPLATE_LIMIT (a Remote-ID per client makes every key new), enough misses in a
  // row to go sparse, then one key for more than RECHECK_EVERY uses, then the keys again.
  const remote = (k: number) => [new RemoteIdOption(9, new Uint8Array([k >> 8, k & 255]))];
  const keys = Math.max(TEMPLATE_LIMIT, MISSES_BEFORE_SPARSE) + 200;
  for (let k = 0; k < keys; k++) {
    packets.push(packet(relayedInfo(k, k, "fe80::1", remote(k)), fromRelay));
  }
  for (let i = 0; i < RECHECK_EVERY + 300; i++) {
    packets.push(packet(relayedInfo(i, i, `fe80::${(i % 9000) + 1}`), fromRelay));
  }
  for (let k = 0; k < 3000; k++) {
    packets.push(packet(relayedInfo(k + 7, k, "fe80::2", remote(k % 50)), fromRelay));
  }
  const [reusing, full] = pair();
  const { reused } = compare([reusing, full], packets);
  assert.ok(reused > RECHECK_EVERY, `reused ${reused}`);
  assert.equal(reusing.reusesAnswers, true);
});

Deno.test("reuse: framing oddities (options after the relay message, empty options, trailing bytes, hop count 255, two Client IDs)", () => {
  const packets: IncomingPacket[] = [];
  const four = (make: (i: number) => Message | Uint8Array) => {
    for (let i = 0; i < 4; i++) packets.push(packet(make(i), fromRelay));
  };
  const remote = new RemoteIdOption(9, new Uint8Array([1, 2]));
  // A Remote-ID after the Relay Message option.
  four((i) =>
    new RelayForwardMessage(0, "2001:db8:1::2", `fe80::${i + 1}`, [
      new RelayMessageOption(info(i, [duidOption(i)])),
      remote,
    ])
  );
  // Zero-length options in the Information-request: an unknown one, and an empty Client ID.
  four((i) =>
    relayedInfo(i, i, `fe80::${i + 1}`, [], [
      duidOption(i),
      new UnknownOption(65000, new Uint8Array(0)),
    ])
  );
  four((i) => relayedInfo(i, i, `fe80::${i + 1}`, [], [new UnknownOption(1, new Uint8Array(0))]));
  // Trailing bytes after the relay-forward (not a whole option): dropped by both.
  four((i) => {
    const bytes = serializeMessage(relayedInfo(i, i, `fe80::${i + 1}`));
    return new Uint8Array([...bytes, 0, 1, 0]);
  });
  // Two Client IDs: left to the full way, which drops them.
  four((i) => relayedInfo(i, i, `fe80::${i + 1}`, [], [duidOption(i), duidOption(i + 1)]));
  // Hop count 255 in two layers (the server's own layer stays at 255).
  four((i) =>
    new RelayForwardMessage(255, "2001:db8:1::3", "2001:db8:1::2", [
      new RelayMessageOption(relayedInfo(i, i, `fe80::${i + 1}`)),
    ])
  );
  const [reusing, full] = pair();
  const { reused } = compare([reusing, full], packets);
  assert.equal(reused, 6); // two each: Remote-ID after the relay message, empty option, hop count 255
  assert.equal(reusing.reusesAnswers, true);
});
