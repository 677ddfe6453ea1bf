/**
 * The RADIUS client and handler against a server made of a UDP socket in the test, which answers
 * with the packets a test crafts: what requests carry, and answers that must be dropped (wrong
 * secret, truncated attributes, prefix lengths over 128, bad or missing Message-Authenticators,
 * strangers) without a crash, while the exchange goes on waiting for a good one.
 */

import assert from "node:assert/strict";
import { RadiusNoAnswerError } from "../../../src/handlers/radius/client.ts";
import {
  messageAuthenticatorPlaceholder,
  responseAuthenticator,
  revealPassword,
  signResponse,
  verifyMessageAuthenticator,
} from "../../../src/handlers/radius/crypto.ts";
import {
  Attr,
  parseRadiusPacket,
  type RadiusAttribute,
  RadiusCode,
  type RadiusPacket,
} from "../../../src/handlers/radius/packet.ts";
import { fromHex, toHex } from "../../../src/protocol/mod.ts";
import { CLIENT_DUID } from "../../pipeline/helpers.ts";
import {
  ask,
  interfaceId,
  PASSWORD,
  radiusHandler,
  radiusSection,
  remoteId,
  SECRET,
  solicit,
  summary,
  viaRelay,
} from "./helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** What the crafted server sends back for one request (several datagrams, in order). */
type Reply = (request: RadiusPacket, bytes: Uint8Array, from: Deno.NetAddr) => Uint8Array[];

/** A UDP socket on ::1 that answers each request with what `reply` makes, and records them. */
class CraftedServer {
  readonly socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  readonly requests: Uint8Array[] = [];
  /** Where the requests came from (the client's socket). */
  readonly senders: Deno.Addr[] = [];
  readonly #done: Promise<void>;

  constructor(reply: Reply) {
    this.#done = (async () => {
      for (;;) {
        let data: Uint8Array, from: Deno.Addr;
        try {
          [data, from] = await this.socket.receive();
        } catch {
          return; // closed
        }
        this.requests.push(data);
        this.senders.push(from);
        for (const out of reply(parseRadiusPacket(data), data, from as Deno.NetAddr)) {
          await this.socket.send(out, from);
        }
      }
    })();
  }

  get key(): string {
    return `[::1]:${(this.socket.addr as Deno.NetAddr).port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.close();
    await this.#done;
  }
}

const ACCEPT_ATTRIBUTES: RadiusAttribute[] = [
  { type: Attr.FramedIpv6Address, value: fromHex("20010db8000100000000000000000010") },
  { type: Attr.DelegatedIpv6Prefix, value: fromHex("003820010db8010000") },
];

/** A correct Access-Accept for `request`. */
function accept(request: RadiusPacket, attributes = ACCEPT_ATTRIBUTES, secret = SECRET) {
  return signResponse(
    {
      code: RadiusCode.AccessAccept,
      identifier: request.identifier,
      authenticator: new Uint8Array(16),
      attributes,
    },
    request.authenticator,
    text(secret),
  );
}

const ACCEPTED = { na1: ["2001:db8:1::10 1800/7200"], pd2: ["2001:db8:100::/56 1800/7200"] };

Deno.test("RADIUS request: Message-Authenticator first, the identifying attributes, PAP", async () => {
  await using server = new CraftedServer((request) => [accept(request)]);
  const handler = await radiusHandler(radiusSection([server.key], ["nas-identifier bng-7"]));
  try {
    const message = viaRelay(solicit(), [remoteId("line-1"), interfaceId("ge-0/0/1.100")]);
    assert.deepEqual(summary((await ask(handler, message)).response), ACCEPTED);
    assert.equal(server.requests.length, 1);
    const bytes = server.requests[0];
    const request = parseRadiusPacket(bytes);
    assert.equal(request.code, RadiusCode.AccessRequest);
    assert.equal(request.attributes[0].type, Attr.MessageAuthenticator);
    assert.equal(verifyMessageAuthenticator(bytes, request.authenticator, text(SECRET)), true);
    const byType = new Map(request.attributes.map((a) => [a.type, a.value]));
    assert.equal(decode(byType.get(Attr.UserName)!), "line-1");
    assert.equal(decode(byType.get(Attr.NasIdentifier)!), "bng-7");
    assert.equal(decode(byType.get(Attr.CallingStationId)!), CLIENT_DUID.toHex());
    assert.equal(decode(byType.get(Attr.NasPortId)!), "ge-0/0/1.100");
    assert.equal(toHex(byType.get(Attr.NasIpv6Address)!), "00000000000000000000000000000001");
    const password = byType.get(Attr.UserPassword)!;
    assert.equal(
      decode(revealPassword(password, text(SECRET), request.authenticator)),
      PASSWORD,
    );
  } finally {
    handler.close();
  }
});

/** The bytes with a Response Authenticator that fits them (so only what was changed is wrong). */
function resigned(bytes: Uint8Array, request: RadiusPacket): Uint8Array {
  bytes.set(responseAuthenticator(bytes, request.authenticator, text(SECRET)), 4);
  return bytes;
}

/** Bad answers, each made from the request, and the reason they are counted under. */
const BAD_ANSWERS: [
  string,
  "authenticator" | "unparsable" | "unusable" | "message-authenticator",
  (r: RadiusPacket) => Uint8Array,
][] = [
  ["signed with another secret", "authenticator", (r) => accept(r, ACCEPT_ATTRIBUTES, "other")],
  ["a truncated attribute", "unparsable", (r) => {
    const bytes = accept(r);
    bytes[20 + 18 + 1] += 4; // the length of the prefix attribute (after the address) runs past the end
    return resigned(bytes, r);
  }],
  ["a header longer than the datagram", "unparsable", (r) => accept(r).subarray(0, 30)],
  [
    "a prefix length of 129",
    "unusable",
    (r) =>
      accept(r, [{
        type: Attr.DelegatedIpv6Prefix,
        value: fromHex("008120010db80100000000000000000000"),
      }]),
  ],
  ["a wrong Message-Authenticator", "message-authenticator", (r) => {
    const bytes = accept(r, [messageAuthenticatorPlaceholder(), ...ACCEPT_ATTRIBUTES]);
    bytes[22] ^= 1; // the first attribute's value
    return resigned(bytes, r);
  }],
];

for (const [name, reason, bad] of BAD_ANSWERS) {
  Deno.test(`RADIUS answer with ${name}: counted, dropped, the good one after it is taken`, async () => {
    await using server = new CraftedServer((request) => [bad(request), accept(request)]);
    const handler = await radiusHandler(radiusSection([server.key]));
    try {
      const { response } = await ask(handler, viaRelay(solicit(), [remoteId("line-1")]));
      assert.deepEqual(summary(response), ACCEPTED);
      const counters = handler.statistics.servers.get(server.key)!;
      assert.equal(counters.badAnswers[reason], 1);
      assert.equal(counters.accepts, 1);
    } finally {
      handler.close();
    }
  });
}

Deno.test("RADIUS: only bad answers end as no answer, counted, and the handler goes on", async () => {
  let good = false;
  await using server = new CraftedServer((request) =>
    good ? [accept(request)] : BAD_ANSWERS.map(([, , bad]) => bad(request))
  );
  const handler = await radiusHandler(radiusSection([server.key], ["cache-ttl 0"]));
  try {
    const message = () => viaRelay(solicit(), [remoteId("line-1")]);
    await assert.rejects(ask(handler, message()), RadiusNoAnswerError);
    const counters = handler.statistics.servers.get(server.key)!;
    assert.deepEqual(counters.badAnswers, {
      authenticator: 1,
      unparsable: 2,
      unusable: 1,
      "message-authenticator": 1,
      unexpected: 0,
    });
    assert.equal(counters.timeouts, 1);
    assert.equal(handler.statistics.radiusTimeouts, 1);
    good = true;
    assert.deepEqual(summary((await ask(handler, message())).response), ACCEPTED);
  } finally {
    handler.close();
  }
});

Deno.test("RADIUS: answers to no waiting request and from strangers are dropped", async () => {
  // Each request gets an answer for another identifier and the answer; the first one then gets
  // its answer again.
  let answered = 0;
  await using server = new CraftedServer((request) => [
    accept({ ...request, identifier: request.identifier ^ 0x80 }),
    accept(request),
    ...(++answered === 1 ? [accept(request)] : []),
  ]);
  const stranger = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const handler = await radiusHandler(radiusSection([server.key], ["cache-ttl 0"]));
  try {
    const message = () => viaRelay(solicit(), [remoteId("line-1")]);
    assert.deepEqual(summary((await ask(handler, message())).response), ACCEPTED);
    // A good answer from another port is not from the server: dropped, counted for no server.
    await stranger.send(accept(parseRadiusPacket(server.requests[0])), server.senders[0]);
    // Datagrams from one sender arrive in order: once the second exchange is answered, the
    // first one's late duplicate has been seen too.
    assert.deepEqual(summary((await ask(handler, message())).response), ACCEPTED);
    const counters = handler.statistics.servers.get(server.key)!;
    assert.equal(counters.accepts, 2);
    assert.equal(counters.badAnswers.unexpected, 3);
    assert.deepEqual([...handler.statistics.servers.keys()], [server.key]);
  } finally {
    handler.close();
    stranger.close();
  }
});

Deno.test("RADIUS: require-message-authenticator drops answers without one", async () => {
  let signed = false;
  await using server = new CraftedServer((request) => [
    accept(
      request,
      signed ? [messageAuthenticatorPlaceholder(), ...ACCEPT_ATTRIBUTES] : ACCEPT_ATTRIBUTES,
    ),
  ]);
  const handler = await radiusHandler(
    radiusSection([server.key], ["require-message-authenticator yes", "cache-ttl 0"]),
  );
  try {
    const message = () => viaRelay(solicit(), [remoteId("line-1")]);
    await assert.rejects(ask(handler, message()), RadiusNoAnswerError);
    assert.equal(
      handler.statistics.servers.get(server.key)!.badAnswers["message-authenticator"],
      1,
    );
    signed = true;
    assert.deepEqual(summary((await ask(handler, message())).response), ACCEPTED);
  } finally {
    handler.close();
  }
});

Deno.test("RADIUS: an identifier that timed out rests, so its late answer meets no new request", async () => {
  // The first request is not answered at first; when the request that would reuse its
  // identifier arrives, the server answers both: the late answer first.
  let first: RadiusPacket | undefined;
  let firstPort = 0;
  let firstAnswered = false;
  await using server = new CraftedServer((request, _, from) => {
    if (!first) {
      first = request;
      firstPort = from.port;
      return [];
    }
    if (request.identifier === first.identifier && from.port === firstPort && !firstAnswered) {
      firstAnswered = true;
      return [accept(first), accept(request)];
    }
    return [accept(request)];
  });
  const handler = await radiusHandler(
    radiusSection([server.key], ["timeout 1", "retries 0", "cache-ttl 0"]),
  );
  try {
    const message = (n: number) => viaRelay(solicit(), [remoteId(`line-${n}`)]);
    await assert.rejects(ask(handler, message(0)), RadiusNoAnswerError);
    // 256 more exchanges at once: one of them would get the first identifier again.
    const answers = await Promise.all(
      Array.from({ length: 256 }, (_, n) => ask(handler, message(n + 1))),
    );
    assert.ok(answers.every((a) => summary(a.response).na1[0] === ACCEPTED.na1[0]));
    const counters = handler.statistics.servers.get(server.key)!;
    assert.equal(counters.accepts, 256);
    assert.equal(firstAnswered, false, "the identifier was not used again on that socket");
    assert.equal(counters.badAnswers.authenticator, 0, "no answer checked against another request");
  } finally {
    handler.close();
  }
});
