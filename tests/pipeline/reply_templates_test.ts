import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ClientIdOption,
  EchoRequestOption,
  ElapsedTimeOption,
  IANAOption,
  InformationRequestMessage,
  InterfaceIdOption,
  type Message,
  type Option,
  OptionRequestOption,
  parseIPv6,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  RemoteIdOption,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
  UnknownOption,
  Writer,
} from "../../src/protocol/mod.ts";
import { SubnetFilter } from "../../src/handlers/filters/handler.ts";
import {
  Filter,
  filterTreatsInformationRequestsAlike,
  Handler,
  type IncomingPacket,
  informationRequestShape,
  type MessageHandler,
  SimpleOptionHandler,
  StatisticsStore,
  type TransactionBundle,
  treatsInformationRequestsAlike,
} from "../../src/pipeline/mod.ts";
import { Engine } from "../../src/server/engine.ts";
import { TransactionBuffer } from "../../src/server/transactions.ts";
import type { WirePacket, WireReply } from "../../src/server/wire.ts";
import {
  OTHER_DUID,
  packet,
  pipeline,
  pipelineFromConfig,
  SERVER_DUID,
  settled,
} from "./helpers.ts";
import { CATEGORIES, duidOption, fromRelay, mac, seen } from "./reply_template_helpers.ts";

/** Options handlers, unicast rules, timing limits, an ignored Solicit: all alike. */
const CONFIG = `
<recursive-name-servers>
    address 2001:db8::53
    address 2001:db8::153
</recursive-name-servers>
<domain-search-list>
    domain-name example.com
</domain-search-list>
<sntp-servers>
    address 2001:db8::123
    always-send yes
</sntp-servers>
<ntp-servers>
    server-fqdn time.example.org
</ntp-servers>
<inf-max-rt>
    limit 43200
</inf-max-rt>
<iana-timing-limits>
    min-t1 1000
</iana-timing-limits>
<ignore-request>
    message-type solicit
</ignore-request>
`;

/** Scopes by subnet, mark and elapsed time, each with handlers of its own. */
const FILTERED = `${CONFIG}
<subnet 2001:db8:1::/48>
    <recursive-name-servers>
        address 2001:db8:1::53
    </recursive-name-servers>
    <marked-with relayed>
        <domain-search-list>
            domain-name relayed.example
        </domain-search-list>
    </marked-with>
</subnet>
<elapsed-time>
    more-than 1s
    <preference>
        level 7
    </preference>
</elapsed-time>
`;

function pair(config: string): [MessageHandler, MessageHandler] {
  return [
    pipelineFromConfig(config, { categories: CATEGORIES() }),
    pipelineFromConfig(config, { categories: CATEGORIES() }),
  ];
}

function relayedInfo(i: number, options: Option[] = [duidOption(i)]): Message {
  return new RelayForwardMessage(0, "2001:db8:1::2", "fe80::1", [
    new InterfaceIdOption(new TextEncoder().encode("port-1")),
    new RelayMessageOption(new InformationRequestMessage(i & 0xffffff, options)),
  ]);
}

/** A listener's marks: the same array with every packet, as the server passes them. */
const MARKS = ["unmarked"];

Deno.test("shape: where the transaction id, Client ID and peer address sit", () => {
  const direct = serializeMessage(new InformationRequestMessage(0x123456, [duidOption(1)])).slice();
  const d = informationRequestShape(direct)!;
  assert.equal(d.inner, 0);
  assert.equal(d.peer, -1);
  assert.equal(d.relays, 0);
  assert.deepEqual([d.cidStart, d.cidEnd], [8, 18]);
  assert.deepEqual(d.kept, [0, 1, 4, 8, 18, direct.length]);

  const relayed = serializeMessage(relayedInfo(1)).slice();
  const r = informationRequestShape(relayed)!;
  assert.equal(r.relays, 1);
  assert.equal(r.peer, 18);
  assert.equal(relayed[r.inner], 11);
  assert.deepEqual([...relayed.subarray(r.cidStart, r.cidEnd)], [0, 3, 0, 1, ...mac(1)]);
});

Deno.test("shape: only Information-requests without IAs, in options that fit", () => {
  const shape = (m: Message) => informationRequestShape(serializeMessage(m).slice());
  assert.equal(shape(new SolicitMessage(1, [duidOption(1)])), undefined);
  assert.equal(
    shape(new InformationRequestMessage(1, [duidOption(1), new IANAOption(1, 0, 0, [])])),
    undefined,
  );
  assert.equal(shape(relayedInfo(1, [duidOption(1), duidOption(2)])), undefined);
  const bytes = serializeMessage(relayedInfo(1)).slice();
  assert.equal(informationRequestShape(bytes.subarray(0, bytes.length - 1)), undefined);
  assert.equal(informationRequestShape(bytes.subarray(0, 30)), undefined);
  // Two relay-message options in one layer are left to the full way.
  const inner = new InformationRequestMessage(1, [duidOption(1)]);
  const two = new RelayForwardMessage(0, "2001:db8:1::2", "fe80::1", [
    new RelayMessageOption(inner),
    new RelayMessageOption(inner),
  ]);
  assert.equal(shape(two), undefined);
  // Without a Client ID: the transaction id (and peer) are the only client values.
  const bare = shape(relayedInfo(1, [new ElapsedTimeOption(0)]))!;
  assert.equal(bare.cidStart, -1);
});

Deno.test("alike: declared by the class that defines the methods, not inherited", () => {
  const option = new UnknownOption(65000, new Uint8Array([1]));
  class Inheriting extends SimpleOptionHandler<UnknownOption> {}
  class Overriding extends SimpleOptionHandler<UnknownOption> {
    override handle(bundle: TransactionBundle): void {
      bundle.response.options.push(this.option);
    }
  }
  class Declaring extends Overriding {
    static override readonly informationRequestsAlike = true;
    override handle(bundle: TransactionBundle): void {
      super.handle(bundle);
    }
  }
  class Plain extends Handler {}
  assert.equal(treatsInformationRequestsAlike(new SimpleOptionHandler(option)), true);
  assert.equal(treatsInformationRequestsAlike(new Inheriting(option)), true);
  assert.equal(treatsInformationRequestsAlike(new Overriding(option)), false);
  assert.equal(treatsInformationRequestsAlike(new Declaring(option)), true);
  assert.equal(treatsInformationRequestsAlike(new Plain()), true);
  const patched = new SimpleOptionHandler(option);
  patched.handle = () => {};
  assert.equal(treatsInformationRequestsAlike(patched), false);
});

Deno.test("pipelines: reuse only with every filter and every handler alike", () => {
  assert.equal(pipelineFromConfig(CONFIG).reusesAnswers, true);
  assert.equal(pipelineFromConfig(FILTERED).reusesAnswers, true);
  // `reuse-answers no`
  assert.equal(pipelineFromConfig(CONFIG, { reuseAnswers: false }).reusesAnswers, false);
  // Rate limiting counts every client's requests: never alike.
  const limited = `<subnet 2001:db8::/32>\n<rate-limit>\n    key duid\n</rate-limit>\n</subnet>\n`;
  assert.equal(pipelineFromConfig(CONFIG + limited).reusesAnswers, false);
  // A filter of an extension's that has not declared itself alike.
  class ByDuid extends Filter {
    match(bundle: TransactionBundle): boolean {
      return bundle.clientDuid?.toHex().endsWith("1") ?? false;
    }
    describe(): string {
      return "by-duid";
    }
  }
  const custom = new ByDuid();
  assert.equal(filterTreatsInformationRequestsAlike(custom), false);
  assert.equal(pipeline([], [custom]).reusesAnswers, false);
  const nested = new SubnetFilter({ bytes: parseIPv6("2001:db8::"), length: 32 });
  assert.equal(filterTreatsInformationRequestsAlike(nested), true);
  nested.filters.push(custom);
  assert.equal(filterTreatsInformationRequestsAlike(nested), false);
});

Deno.test("a second client confirms the template, the third is answered from it", () => {
  const [reusing, full] = pair(CONFIG);
  const statsA = new StatisticsStore(), statsB = new StatisticsStore();
  const writer = new Writer(64);
  const bundles: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const p: IncomingPacket = { ...packet(relayedInfo(1000 + i), fromRelay), replyWriter: writer };
    const a = settled(reusing.handle(p, statsA));
    const b = settled(full.handle({ ...p, replyWriter: undefined }, statsB, undefined, false));
    assert.deepEqual(seen(a), seen(b), `request ${i}`);
    assert.equal(a.replies[0].data.buffer, writer.buf.buffer, "written to the reply writer");
    bundles.push(a.bundle !== undefined);
  }
  // Learned, confirmed, then reused.
  assert.deepEqual(bundles, [true, true, false, false, false]);
  assert.deepEqual(statsA.drain(), statsB.drain());
});

Deno.test("a reused key whose own Client ID does not parse is dropped as the full way drops it", () => {
  const [reusing, full] = pair(CONFIG);
  const statsA = new StatisticsStore(), statsB = new StatisticsStore();
  // DUID-UUID (type 4) must be 16 bytes: these 10 bytes are not a DUID.
  const bad = new UnknownOption(1, new Uint8Array([0, 4, 0, 1, 2, 0, 0, 0, 0, 9]));
  const requests = [relayedInfo(1), relayedInfo(2), relayedInfo(3), relayedInfo(4, [bad])];
  const outcomes = requests.map((m) => {
    const p = packet(m, fromRelay);
    const a = settled(reusing.handle(p, statsA));
    assert.deepEqual(seen(a), seen(settled(full.handle(p, statsB, undefined, false))));
    return a.outcome;
  });
  assert.deepEqual(outcomes, ["reply", "reply", "reply", "unparsable"]);
  assert.deepEqual(statsA.drain(), statsB.drain());
});

Deno.test("a handler that declared itself alike wrongly turns the reuse off", () => {
  class EchoDuid extends Handler {
    static readonly informationRequestsAlike = true;
    override handle(bundle: TransactionBundle): void {
      const duid = bundle.request.getOption(ClientIdOption)?.duid.toHex() ?? "";
      bundle.response.options.push(new UnknownOption(65001, new TextEncoder().encode(duid)));
    }
  }
  const [reusing, full] = pair(CONFIG);
  // A pipeline whose handlers include the liar (added like an extension's handler).
  const lying = pipelineFromConfig(CONFIG, { handlers: [new EchoDuid()] });
  const unreused = pipelineFromConfig(CONFIG, { handlers: [new EchoDuid()] });
  assert.equal(lying.reusesAnswers, true);
  for (let i = 0; i < 6; i++) {
    const p = packet(relayedInfo(2000 + i), fromRelay);
    assert.deepEqual(
      seen(settled(lying.handle(p, new StatisticsStore()))),
      seen(settled(unreused.handle(p, new StatisticsStore(), undefined, false))),
    );
  }
  assert.equal(lying.reusesAnswers, false);
  assert.equal(reusing.reusesAnswers && full.reusesAnswers, true);
});

/** A request as the property test sends it, with the packet's circumstances. */
interface Case {
  message: Message;
  source: string;
  sourcePort: number;
  interfaceName: string;
  multicast: boolean;
  linkAddress: string;
  marks: string[];
}

const peers = ["fe80::1", "fe80::2", "fe80::a:b", "ff02::1", "2001:db8:1::99"];
const relays = ["2001:db8:ff::1", "2001:db8:1::2"];

/** Mostly `usual`, now and then one of `others`: so that keys repeat and templates are used. */
function mostly<T>(usual: T, ...others: T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { arbitrary: fc.constant(usual), weight: 24 },
    { arbitrary: fc.constantFrom(...others), weight: 1 },
  );
}

/** Information-requests (and a few others) of a few shapes from many clients. */
const caseArb: fc.Arbitrary<Case> = fc.record({
  xid: fc.integer({ min: 0, max: 0xffffff }),
  client: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 1 << 20 }), weight: 6 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    {
      // Ten bytes of DUID, some of them no DUID at all (a UUID is 16 bytes).
      arbitrary: fc.tuple(
        fc.constantFrom(0, 1, 2, 3, 4, 0xffff),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
      ).map(([type, rest]) => new Uint8Array([type >> 8, type & 255, ...rest])),
      weight: 2,
    },
  ),
  oro: mostly<number[]>([23, 24], [], [23, 24, 31, 56, 82], [31]),
  elapsed: mostly(0, 100, 250),
  serverId: mostly("none", "ours", "other"),
  ia: mostly(false, true),
  solicit: mostly(false, true),
  layers: fc.oneof(
    { arbitrary: fc.constant(1), weight: 3 },
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.constant(2), weight: 1 },
  ),
  peer: fc.oneof(fc.constantFrom(...peers), fc.constant("random")),
  peerBytes: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  interfaceId: mostly<string | undefined>("port-1", undefined, "port-2"),
  remoteId: mostly<number | undefined>(undefined, 7),
  echo: mostly(false, true),
  sourcePortOption: mostly(true, false),
  relay: mostly(relays[0], relays[1]),
  relayLink: mostly("2001:db8:1::2", "2001:db8:7::2"),
  sourcePort: fc.constantFrom(547, 40000),
  interfaceName: mostly("eth0", "eth1"),
  multicast: mostly(false, true),
  linkAddress: fc.constantFrom("2001:db8:1::1", "2001:db8:1::1", "2001:db8:9::1"),
  marks: mostly(["unmarked"], ["relayed"], ["relayed", "other"]),
}).map((c) => {
  const options: Option[] = [];
  if (typeof c.client === "number") options.push(duidOption(c.client));
  else if (c.client) options.push(new UnknownOption(1, c.client));
  if (c.serverId !== "none") {
    options.push(new ServerIdOption(c.serverId === "ours" ? SERVER_DUID : OTHER_DUID));
  }
  options.push(new ElapsedTimeOption(c.elapsed));
  if (c.oro.length) options.push(new OptionRequestOption([...c.oro]));
  if (c.ia) options.push(new IANAOption(7, 0, 0, []));
  let message: Message = c.solicit
    ? new SolicitMessage(c.xid, options)
    : new InformationRequestMessage(c.xid, options);
  for (let k = 0; k < c.layers; k++) {
    const relayOptions: Option[] = [];
    if (c.interfaceId) {
      relayOptions.push(new InterfaceIdOption(new TextEncoder().encode(c.interfaceId)));
    }
    if (c.remoteId !== undefined) {
      relayOptions.push(new RemoteIdOption(9, new Uint8Array([c.remoteId])));
    }
    if (c.echo) relayOptions.push(new EchoRequestOption([18, 37]));
    if (c.sourcePortOption && k === c.layers - 1) relayOptions.push(new RelaySourcePortOption(0));
    relayOptions.push(new RelayMessageOption(message));
    const peer = k > 0 ? "2001:db8:1::7" : c.peer === "random" ? c.peerBytes : c.peer;
    message = new RelayForwardMessage(k, k > 0 ? "::" : c.relayLink, peer, relayOptions);
  }
  return {
    message,
    source: c.layers > 0 ? c.relay : "fe80::99",
    sourcePort: c.layers > 0 ? c.sourcePort : 546,
    interfaceName: c.interfaceName,
    multicast: c.multicast,
    linkAddress: c.linkAddress,
    marks: c.marks,
  };
});

for (const [name, config] of [["options", CONFIG], ["filters", FILTERED]]) {
  Deno.test(`property (${name}): answers with reuse equal the answers made the full way, counted alike`, () => {
    let reused = 0;
    fc.assert(
      fc.property(fc.array(caseArb, { minLength: 20, maxLength: 80 }), (cases) => {
        const [reusing, full] = pair(config);
        const statsA = new StatisticsStore(), statsB = new StatisticsStore();
        const writer = new Writer(256);
        for (const c of cases) {
          writer.reset();
          const p: IncomingPacket = { ...packet(c.message, c), replyWriter: writer };
          const a = settled(reusing.handle(p, statsA));
          const b = settled(
            full.handle({ ...p, replyWriter: undefined }, statsB, undefined, false),
          );
          assert.deepEqual(seen(a), seen(b));
          if (a.outcome === "reply" && !a.bundle) reused++;
        }
        assert.deepEqual(statsA.drain(), statsB.drain());
        assert.equal(reusing.reusesAnswers, true, "no template may ever disagree");
      }),
      { numRuns: 300 },
    );
    // The property is only worth something if answers were actually reused.
    assert.ok(reused > 100, `only ${reused} answers were reused`);
  });
}

Deno.test("engine: no reused answers while the web UI records transactions", () => {
  const wire = (i: number): WirePacket => ({
    id: `#${i}`,
    listener: 0,
    data: serializeMessage(relayedInfo(3000 + i)).slice(),
    source: fromRelay.source,
    sourcePort: fromRelay.sourcePort,
    interfaceName: "eth0",
    linkAddress: "2001:db8:1::1",
    multicast: false,
    marks: MARKS,
  });
  const packets = Array.from({ length: 8 }, (_, i) => wire(i));
  const plain = new Engine(pipelineFromConfig(CONFIG));
  const recording = new Engine(pipelineFromConfig(CONFIG));
  const buffer = new TransactionBuffer();
  recording.transactions = buffer;
  const [a, b]: WireReply[][] = [[], []];
  plain.handleBatch(packets, a);
  recording.handleBatch(packets, b);
  assert.deepEqual(b.map((r) => [...r.data]), a.map((r) => [...r.data]));
  const records = buffer.drain();
  assert.equal(records.length, 8);
  for (const r of records) {
    assert.equal(r.request, "information-request");
    assert.match(r.client, /^00030001020000000b/);
  }
  // Without the web UI the same batch was answered from a template after two clients.
  assert.equal(plain.handler.reusesAnswers, true);
});
