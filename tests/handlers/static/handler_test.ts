import assert from "node:assert/strict";
import {
  AdvertiseMessage,
  type ClientServerMessage,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  InterfaceIdOption,
  LinkLayerIdOption,
  type Message,
  RapidCommitOption,
  RemoteIdOption,
  ReplyMessage,
  StatusCode,
  StatusCodeOption,
  SubscriberIdOption,
} from "../../../src/protocol/mod.ts";
import { CLIENT_DUID, iana, iapd, relayed, run } from "../../pipeline/helpers.ts";
import {
  BACKENDS,
  confirm,
  decline,
  LIFETIMES,
  OTHER_CLIENT,
  rebind,
  release,
  renew,
  request,
  solicit,
  staticPipeline,
} from "./fixtures.ts";

const text = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array(b);

/** The address and lifetimes of every IA_NA in a reply, by IAID. */
function ianaView(reply: ClientServerMessage) {
  return reply.getOptions(IANAOption).map((ia) => ({
    iaid: ia.iaid,
    addresses: ia.options.filter((o) => o instanceof IAAddressOption).map((o) => {
      const a = o as IAAddressOption;
      return `${a.address} ${a.preferredLifetime}/${a.validLifetime}`;
    }),
    status: ia.options.find((o) => o instanceof StatusCodeOption)?.statusCode,
  }));
}

/** The prefixes and lifetimes of every IA_PD in a reply, by IAID. */
function iapdView(reply: ClientServerMessage) {
  return reply.getOptions(IAPDOption).map((ia) => ({
    iaid: ia.iaid,
    prefixes: ia.options.filter((o) => o instanceof IAPrefixOption).map((o) => {
      const p = o as IAPrefixOption;
      return `${p.prefix}/${p.prefixLength} ${p.preferredLifetime}/${p.validLifetime}`;
    }),
    status: ia.options.find((o) => o instanceof StatusCodeOption)?.statusCode,
  }));
}

const A = `${LIFETIMES.ap}/${LIFETIMES.av}`;
const P = `${LIFETIMES.pp}/${LIFETIMES.pv}`;

/** The address the client behind `message` (as sent) gets in an Advertise. */
function assignedAddress(
  p: Awaited<ReturnType<typeof staticPipeline>>["pipeline"],
  message: Message,
  interfaceName = "eth0",
): string | undefined {
  const reply = run(p, message, { interfaceName }).reply!;
  const ia = reply.getOption(IANAOption)!;
  const address = ia.options.find((o) => o instanceof IAAddressOption) as
    | IAAddressOption
    | undefined;
  return address?.address;
}

for (const backend of BACKENDS) {
  Deno.test(`${backend}: every id form, relay ids from the relay closest to the client`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      const ask = (...relayOptions: import("../../../src/protocol/mod.ts").Option[]) =>
        assignedAddress(
          p,
          relayed(solicit(OTHER_CLIENT, iana(1)), "2001:db8:ffff::1", "fe80::1", relayOptions),
        );
      // DUID.
      assert.equal(assignedAddress(p, solicit(CLIENT_DUID, iana(1))), "2001:db8:1::10");
      // Interface-ID: -str form and hex with colons / upper case.
      assert.equal(ask(new InterfaceIdOption(text("eth7"))), "2001:db8:1::20");
      assert.equal(ask(new InterfaceIdOption(text("fa22"))), "2001:db8:1::21");
      // Remote-ID: hex and -str.
      assert.equal(ask(new RemoteIdOption(9, bytes(1, 2))), "2001:db8:1::30");
      assert.equal(ask(new RemoteIdOption(40208, text("SomeRemote"))), "2001:db8:1::31");
      assert.equal(ask(new RemoteIdOption(40209, text("SomeRemote"))), undefined);
      // Subscriber-ID: hex and -str.
      assert.equal(ask(new SubscriberIdOption(bytes(0xab, 0xcd))), "2001:db8:1::40");
      assert.equal(ask(new SubscriberIdOption(text("sub-1"))), "2001:db8:1::41");
      // Link-layer-ID: hex and -str.
      assert.equal(
        ask(new LinkLayerIdOption(1, bytes(0, 0x11, 0x22, 0x33, 0x44, 0x66))),
        "2001:db8:1::50",
      );
      assert.equal(ask(new LinkLayerIdOption(1, text("AB"))), "2001:db8:1::51");
      assert.equal(ask(new LinkLayerIdOption(6, text("AB"))), undefined);
      // Unknown client: nothing.
      assert.equal(ask(), undefined);
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: the lookup order is duid, interface-id, remote-id, subscriber-id, linklayer-id`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      const all = [
        new InterfaceIdOption(text("eth7")),
        new RemoteIdOption(9, bytes(1, 2)),
        new SubscriberIdOption(bytes(0xab, 0xcd)),
        new LinkLayerIdOption(1, text("AB")),
      ];
      const ask = (duid: typeof CLIENT_DUID, options: typeof all) =>
        assignedAddress(p, relayed(solicit(duid, iana(1)), "2001:db8:ffff::1", "fe80::1", options));
      assert.equal(ask(CLIENT_DUID, all), "2001:db8:1::10");
      assert.equal(ask(OTHER_CLIENT, all), "2001:db8:1::20");
      assert.equal(ask(OTHER_CLIENT, all.slice(1)), "2001:db8:1::30");
      assert.equal(ask(OTHER_CLIENT, all.slice(2)), "2001:db8:1::40");
      assert.equal(ask(OTHER_CLIENT, all.slice(3)), "2001:db8:1::51");
      // Option order in the relay message does not matter.
      assert.equal(ask(OTHER_CLIENT, [...all].reverse()), "2001:db8:1::20");
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: two relay levels: only the relay closest to the client counts`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      const inner = (options: import("../../../src/protocol/mod.ts").Option[]) =>
        relayed(solicit(OTHER_CLIENT, iana(1)), "2001:db8:ffff::1", "fe80::1", options);
      const outer = (msg: Message, options: import("../../../src/protocol/mod.ts").Option[]) =>
        relayed(msg, "2001:db8:eeee::1", "2001:db8:ffff::1", options, 1);
      // Inner relay's remote-id is used.
      assert.equal(
        assignedAddress(
          p,
          outer(inner([new RemoteIdOption(9, bytes(1, 2))]), [new InterfaceIdOption(text("eth7"))]),
        ),
        "2001:db8:1::30",
      );
      // The outer relay's ids are not used when the inner relay has none that match.
      assert.equal(
        assignedAddress(p, outer(inner([]), [new InterfaceIdOption(text("eth7"))])),
        undefined,
      );
      assert.equal(
        assignedAddress(p, outer(inner([new InterfaceIdOption(text("fa22"))]), [])),
        "2001:db8:1::21",
      );
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: direct clients match interface-id = server interface name`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      assert.equal(assignedAddress(p, solicit(OTHER_CLIENT, iana(1)), "eth7"), "2001:db8:1::20");
      assert.equal(assignedAddress(p, solicit(OTHER_CLIENT, iana(1)), "eth8"), undefined);
      // A relayed client arriving on eth7 is identified by its relay, not by our interface.
      assert.equal(
        assignedAddress(p, relayed(solicit(OTHER_CLIENT, iana(1)), "2001:db8:ffff::1"), "eth7"),
        undefined,
      );
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: Solicit and Request answers, prefix hint preferred`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      // No hint: the first IA_PD and IA_NA get the assignment; others get the built-in answer.
      let reply = run(p, solicit(CLIENT_DUID, iana(1), iana(2), iapd(5), iapd(6))).reply!;
      assert.ok(reply instanceof AdvertiseMessage);
      assert.deepEqual(ianaView(reply), [
        { iaid: 1, addresses: [`2001:db8:1::10 ${A}`], status: undefined },
        { iaid: 2, addresses: [], status: StatusCode.NoAddrsAvail },
      ]);
      assert.deepEqual(iapdView(reply), [
        { iaid: 5, prefixes: [`2001:db8:100::/56 ${P}`], status: undefined },
        { iaid: 6, prefixes: [], status: StatusCode.NoPrefixAvail },
      ]);
      // Hints: the IA_PD that already contains the prefix (and the IA_NA with the address) win.
      reply = run(
        p,
        request(
          CLIENT_DUID,
          iana(1, "2001:db8:9::1"),
          iana(2, "2001:db8:1::10"),
          iapd(5, "2001:db8:999::", 56),
          iapd(6, "2001:db8:100::", 56),
        ),
      ).reply!;
      assert.ok(reply instanceof ReplyMessage);
      assert.deepEqual(ianaView(reply), [
        { iaid: 2, addresses: [`2001:db8:1::10 ${A}`], status: undefined },
        { iaid: 1, addresses: [], status: StatusCode.NoAddrsAvail },
      ]);
      assert.deepEqual(iapdView(reply), [
        { iaid: 6, prefixes: [`2001:db8:100::/56 ${P}`], status: undefined },
        { iaid: 5, prefixes: [], status: StatusCode.NoPrefixAvail },
      ]);
      // A client without an assignment gets NoAddrsAvail / NoPrefixAvail.
      reply = run(p, solicit(OTHER_CLIENT, iana(1), iapd(5))).reply!;
      assert.deepEqual(ianaView(reply), [{
        iaid: 1,
        addresses: [],
        status: StatusCode.NoAddrsAvail,
      }]);
      assert.deepEqual(iapdView(reply), [{
        iaid: 5,
        prefixes: [],
        status: StatusCode.NoPrefixAvail,
      }]);
      // Prefix-only row: the IA_NA gets NoAddrsAvail, the IA_PD the prefix.
      reply = run(p, solicit(OTHER_CLIENT, iana(1), iapd(5)), { interfaceName: "prefix-only" })
        .reply!;
      assert.deepEqual(ianaView(reply), [{
        iaid: 1,
        addresses: [],
        status: StatusCode.NoAddrsAvail,
      }]);
      assert.deepEqual(iapdView(reply), [
        { iaid: 5, prefixes: [`2001:db8:600::/56 ${P}`], status: undefined },
      ]);
      // T1/T2 are left 0 (the timing-limits handlers set them).
      assert.equal(reply.getOption(IAPDOption)!.t1, 0);
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: rapid commit is respected`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend, undefined, {
      allowRapidCommit: true,
    });
    try {
      let reply = run(p, solicit(CLIENT_DUID, new RapidCommitOption(), iana(1), iapd(2))).reply!;
      assert.ok(reply instanceof ReplyMessage);
      assert.ok(reply.getOption(RapidCommitOption));
      assert.deepEqual(ianaView(reply)[0].addresses, [`2001:db8:1::10 ${A}`]);
      // Refused IAs: no rapid commit (Advertise).
      reply = run(p, solicit(OTHER_CLIENT, new RapidCommitOption(), iana(1))).reply!;
      assert.ok(reply instanceof AdvertiseMessage);
      // Without the option: Advertise.
      reply = run(p, solicit(CLIENT_DUID, iana(1))).reply!;
      assert.ok(reply instanceof AdvertiseMessage);
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: Renew and Rebind renew the assignment and withdraw the rest`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      for (const make of [renew, rebind]) {
        const reply = run(
          p,
          make(
            CLIENT_DUID,
            new IANAOption(1, 0, 0, [
              new IAAddressOption("2001:db8:1::10", 10, 20),
              new IAAddressOption("2001:db8:1::99", 10, 20),
            ]),
            iana(2, "2001:db8:1::98"),
            iana(3),
            new IAPDOption(5, 0, 0, [
              new IAPrefixOption(10, 20, 56, "2001:db8:100::"),
              new IAPrefixOption(10, 20, 64, "2001:db8:100:1::"),
            ]),
            iapd(6, "2001:db8:777::", 56),
          ),
        ).reply!;
        assert.ok(reply instanceof ReplyMessage, make.name);
        assert.deepEqual(ianaView(reply), [
          { iaid: 1, addresses: [`2001:db8:1::10 ${A}`, "2001:db8:1::99 0/0"], status: undefined },
          { iaid: 2, addresses: ["2001:db8:1::98 0/0"], status: undefined },
          { iaid: 3, addresses: [], status: StatusCode.NoBinding },
        ]);
        assert.deepEqual(iapdView(reply), [
          {
            iaid: 5,
            prefixes: [`2001:db8:100::/56 ${P}`, "2001:db8:100:1::/64 0/0"],
            status: undefined,
          },
          { iaid: 6, prefixes: ["2001:db8:777::/56 0/0"], status: undefined },
        ]);
      }
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: Renew after the assignment changed delivers the new one`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      const reply = run(
        p,
        renew(CLIENT_DUID, iana(1, "2001:db8:1::77"), iapd(5, "2001:db8:777::", 56), iapd(6)),
      ).reply!;
      assert.deepEqual(ianaView(reply), [
        { iaid: 1, addresses: ["2001:db8:1::77 0/0", `2001:db8:1::10 ${A}`], status: undefined },
      ]);
      assert.deepEqual(iapdView(reply), [
        {
          iaid: 5,
          prefixes: ["2001:db8:777::/56 0/0", `2001:db8:100::/56 ${P}`],
          status: undefined,
        },
        { iaid: 6, prefixes: [], status: StatusCode.NoBinding },
      ]);
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: Renew/Rebind from a client without an assignment`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      let reply = run(p, renew(OTHER_CLIENT, iana(1, "2001:db8:1::10"), iana(2), iapd(5))).reply!;
      assert.deepEqual(ianaView(reply), [
        { iaid: 1, addresses: ["2001:db8:1::10 0/0"], status: undefined },
        { iaid: 2, addresses: [], status: StatusCode.NoBinding },
      ]);
      assert.deepEqual(iapdView(reply), [{ iaid: 5, prefixes: [], status: StatusCode.NoBinding }]);
      reply = run(p, rebind(OTHER_CLIENT, iapd(5, "2001:db8:100::", 56))).reply!;
      assert.deepEqual(iapdView(reply), [
        { iaid: 5, prefixes: ["2001:db8:100::/56 0/0"], status: undefined },
      ]);
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: Confirm: match is Success, anything else NotOnLink`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      const status = (m: Message) => run(p, m).reply!.getOption(StatusCodeOption)?.statusCode;
      assert.equal(status(confirm(CLIENT_DUID, iana(1, "2001:db8:1::10"))), StatusCode.Success);
      assert.equal(
        status(confirm(CLIENT_DUID, iana(1, "2001:db8:1::10"), iapd(2, "2001:db8:100::", 56))),
        StatusCode.Success,
      );
      assert.equal(status(confirm(CLIENT_DUID, iana(1, "2001:db8:1::11"))), StatusCode.NotOnLink);
      assert.equal(
        status(
          confirm(
            CLIENT_DUID,
            new IANAOption(1, 0, 0, [
              new IAAddressOption("2001:db8:1::10"),
              new IAAddressOption("2001:db8:1::11"),
            ]),
          ),
        ),
        StatusCode.NotOnLink,
      );
      assert.equal(
        status(confirm(CLIENT_DUID, iana(1, "2001:db8:1::10"), iana(2, "2001:db8:5::1"))),
        StatusCode.NotOnLink,
      );
      assert.equal(status(confirm(OTHER_CLIENT, iana(1, "2001:db8:1::10"))), StatusCode.NotOnLink);
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${backend}: Release and Decline`, async () => {
    const { pipeline: p, cleanup } = await staticPipeline(backend);
    try {
      for (const make of [release, decline]) {
        let reply = run(p, make(CLIENT_DUID, iana(1, "2001:db8:1::10"))).reply!;
        assert.equal(reply.getOption(StatusCodeOption)?.statusCode, StatusCode.Success);
        assert.deepEqual(ianaView(reply), []);
        reply = run(p, make(CLIENT_DUID, iana(1, "2001:db8:1::10"), iana(2, "2001:db8:1::99")))
          .reply!;
        assert.equal(reply.getOption(StatusCodeOption)?.statusCode, StatusCode.Success);
        assert.deepEqual(ianaView(reply), [{
          iaid: 2,
          addresses: [],
          status: StatusCode.NoBinding,
        }]);
        reply = run(p, make(OTHER_CLIENT, iana(1, "2001:db8:1::10"))).reply!;
        assert.deepEqual(ianaView(reply), [{
          iaid: 1,
          addresses: [],
          status: StatusCode.NoBinding,
        }]);
      }
      const reply = run(p, release(CLIENT_DUID, iapd(5, "2001:db8:100::", 56))).reply!;
      assert.equal(reply.getOption(StatusCodeOption)?.statusCode, StatusCode.Success);
      assert.deepEqual(iapdView(reply), []);
    } finally {
      await cleanup();
    }
  });
}
