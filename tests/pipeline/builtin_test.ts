import assert from "node:assert/strict";
import {
  AdvertiseMessage,
  ConfirmMessage,
  DeclineMessage,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  type IAPrefixOption,
  IATAOption,
  InformationRequestMessage,
  type Option,
  RapidCommitOption,
  RebindMessage,
  ReleaseMessage,
  RenewMessage,
  ReplyMessage,
  RequestMessage,
  ServerIdOption,
  SolicitMessage,
  StatusCode,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";
import { Handler, type TransactionBundle } from "../../src/pipeline/mod.ts";
import {
  clientId,
  codes,
  elapsed,
  iana,
  iapd,
  OTHER_DUID,
  pipeline,
  run,
  serverId,
} from "./helpers.ts";

/** Answers every IA_NA with one address (a stand-in assignment handler). */
class AssignAll extends Handler {
  override handle(bundle: TransactionBundle): void {
    for (const ia of bundle.getUnhandledOptions(IANAOption)) {
      bundle.response.options.push(
        new IANAOption(ia.iaid, 0, 0, [new IAAddressOption("2001:db8::42", 100, 200)]),
      );
      bundle.markHandled(ia);
    }
  }
}

const iaStatus = (ia: { options: Option[] } | undefined) =>
  (ia?.options.find((o) => o instanceof StatusCodeOption) as StatusCodeOption | undefined)
    ?.statusCode;
const msgStatus = (m: { getOption: ReplyMessage["getOption"] }) =>
  m.getOption(StatusCodeOption)?.statusCode;

Deno.test("server-id: ours is answered, another server's is dropped and counted", () => {
  const p = pipeline();
  const ours = run(p, new RequestMessage(1, [clientId(), serverId(), elapsed(0)]));
  assert.equal(ours.result.outcome, "reply");
  assert.deepEqual(codes(ours.reply!).slice(0, 2), [1, 2]);
  assert.equal(ours.reply!.options[1].code, 2);
  const other = run(
    p,
    new RequestMessage(1, [clientId(), new ServerIdOption(OTHER_DUID), elapsed(0)]),
  );
  assert.equal(other.result.outcome, "for_other_server");
  assert.equal(other.result.replies.length, 0);
  assert.equal(other.stats.sets.get("global")![4], 1); // for_other_server
  // Information-request: optional server id, ours answered, another's dropped.
  assert.equal(run(p, new InformationRequestMessage(1, [serverId()])).result.outcome, "reply");
  assert.equal(run(p, new InformationRequestMessage(1, [])).result.outcome, "reply");
  assert.equal(
    run(p, new InformationRequestMessage(1, [new ServerIdOption(OTHER_DUID)])).result.outcome,
    "for_other_server",
  );
  // A Solicit must not carry a server id at all (rejected by message validation).
  const solicit = run(p, new SolicitMessage(1, [clientId(), serverId()]));
  assert.equal(solicit.result.replies.length, 0);
  assert.equal(solicit.result.outcome, "unparsable");
});

Deno.test("rapid commit: Reply with Rapid Commit first when allowed and every IA answered", () => {
  const p = pipeline([new AssignAll()], [], { allowRapidCommit: true });
  const rc = run(
    p,
    new SolicitMessage(3, [clientId(), elapsed(0), new RapidCommitOption(), iana(1)]),
  );
  assert.equal(rc.reply!.type, ReplyMessage.messageType);
  assert.deepEqual(codes(rc.reply!), [14, 1, 2, 3]);
  assert.equal(rc.reply!.getOption(IANAOption)!.options[0] instanceof IAAddressOption, true);
  // Without the client's Rapid Commit: Advertise.
  const plain = run(p, new SolicitMessage(3, [clientId(), elapsed(0), iana(1)]));
  assert.equal(plain.reply!.type, AdvertiseMessage.messageType);
  // Server not configured for rapid commit: Advertise.
  const off = run(
    pipeline([new AssignAll()]),
    new SolicitMessage(3, [clientId(), elapsed(0), new RapidCommitOption(), iana(1)]),
  );
  assert.equal(off.reply!.type, AdvertiseMessage.messageType);
  assert.equal(off.reply!.getOption(RapidCommitOption), undefined);
});

Deno.test("rapid commit is refused when an IA was refused, unless rapid-commit-rejections", () => {
  const request = new SolicitMessage(3, [
    clientId(),
    elapsed(0),
    new RapidCommitOption(),
    iana(1),
    iapd(2),
  ]);
  const p = pipeline([new AssignAll()], [], { allowRapidCommit: true });
  const refused = run(p, request);
  assert.equal(refused.reply!.type, AdvertiseMessage.messageType);
  assert.equal(iaStatus(refused.reply!.getOption(IAPDOption)), StatusCode.NoPrefixAvail);
  const onlyNa = run(
    pipeline([], [], { allowRapidCommit: true }),
    new SolicitMessage(3, [clientId(), elapsed(0), new RapidCommitOption(), iana(1)]),
  );
  assert.equal(onlyNa.reply!.type, AdvertiseMessage.messageType);
  const rejections = pipeline([new AssignAll()], [], {
    allowRapidCommit: true,
    rapidCommitRejections: true,
  });
  const accepted = run(rejections, request);
  assert.equal(accepted.reply!.type, ReplyMessage.messageType);
  assert.equal(accepted.reply!.options[0].code, 14);
  assert.equal(iaStatus(accepted.reply!.getOption(IAPDOption)), StatusCode.NoPrefixAvail);
});

Deno.test("unanswered IAs in Solicit and Request: NoAddrsAvail / NoPrefixAvail inside the IA", () => {
  const p = pipeline();
  for (
    const make of [
      (o: Option[]) => new SolicitMessage(1, o),
      (o: Option[]) => new RequestMessage(1, [serverId(), ...o]),
    ]
  ) {
    const { reply } = run(
      p,
      make([clientId(), elapsed(0), iana(1, "2001:db8::1"), new IATAOption(5), iapd(2)]),
    );
    assert.equal(iaStatus(reply!.getOption(IANAOption)), StatusCode.NoAddrsAvail);
    assert.equal(iaStatus(reply!.getOption(IATAOption)), StatusCode.NoAddrsAvail);
    assert.equal(iaStatus(reply!.getOption(IAPDOption)), StatusCode.NoPrefixAvail);
    assert.equal(reply!.getOption(IANAOption)!.iaid, 1);
    assert.equal(msgStatus(reply!), undefined);
  }
});

Deno.test("unanswered IAs in Renew and Rebind: zero lifetimes, or NoBinding", () => {
  const p = pipeline();
  const make = [
    (o: Option[]) => new RenewMessage(1, [serverId(), ...o]),
    (o: Option[]) => new RebindMessage(1, o),
  ];
  for (const m of make) {
    const { reply, result } = run(
      p,
      m([
        clientId(),
        elapsed(0),
        iana(1, "2001:db8::1"),
        iana(2),
        iapd(3, "2001:db8:100::"),
        iapd(4),
      ]),
    );
    assert.equal(result.outcome, "reply");
    const nas = reply!.getOptions(IANAOption);
    const withdrawn = nas[0].options[0] as IAAddressOption;
    assert.deepEqual([withdrawn.address, withdrawn.preferredLifetime, withdrawn.validLifetime], [
      "2001:db8::1",
      0,
      0,
    ]);
    assert.equal(iaStatus(nas[1]), StatusCode.NoBinding);
    const pds = reply!.getOptions(IAPDOption);
    const prefix = pds[0].options[0] as IAPrefixOption;
    assert.deepEqual([
      prefix.prefix,
      prefix.prefixLength,
      prefix.preferredLifetime,
      prefix.validLifetime,
    ], [
      "2001:db8:100::",
      56,
      0,
      0,
    ]);
    assert.equal(iaStatus(pds[1]), StatusCode.NoBinding);
  }
});

Deno.test("unanswered IAs in Release and Decline: NoBinding, message status Success", () => {
  const p = pipeline();
  const release = run(
    p,
    new ReleaseMessage(1, [
      clientId(),
      serverId(),
      elapsed(0),
      iana(1, "2001:db8::1"),
      iapd(2, "2001:db8:100::"),
    ]),
  )
    .reply!;
  assert.equal(iaStatus(release.getOption(IANAOption)), StatusCode.NoBinding);
  assert.equal(iaStatus(release.getOption(IAPDOption)), StatusCode.NoBinding);
  assert.equal(msgStatus(release), StatusCode.Success);
  const decline = run(
    p,
    new DeclineMessage(1, [clientId(), serverId(), elapsed(0), iana(1, "2001:db8::1")]),
  ).reply!;
  assert.equal(iaStatus(decline.getOption(IANAOption)), StatusCode.NoBinding);
  assert.equal(msgStatus(decline), StatusCode.Success);
});

Deno.test("Confirm: NotOnLink for unknown addresses; no reply without addresses", () => {
  const p = pipeline();
  const confirm = run(p, new ConfirmMessage(1, [clientId(), elapsed(0), iana(1, "2001:db8::1")]));
  assert.equal(confirm.result.outcome, "reply");
  assert.equal(msgStatus(confirm.reply!), StatusCode.NotOnLink);
  const empty = run(p, new ConfirmMessage(1, [clientId(), elapsed(0), iana(1)]));
  assert.equal(empty.result.outcome, "do_not_respond");
  assert.equal(empty.result.replies.length, 0);
});

Deno.test("unicast: Solicit, Confirm, Rebind and Information-request are dropped even with permission", () => {
  /** Grants unicast like <server-unicast> does. */
  class AllowUnicast extends Handler {
    override pre(bundle: TransactionBundle): void {
      bundle.allowUnicast = true;
    }
  }
  const p = pipeline([new AllowUnicast()]);
  const unicast = { multicast: false, source: "2001:db8:1::99" };
  for (
    const m of [
      new SolicitMessage(1, [clientId(), elapsed(0), iana(1)]),
      new ConfirmMessage(2, [clientId(), elapsed(0), iana(1, "2001:db8::42")]),
      new RebindMessage(3, [clientId(), elapsed(0), iana(1, "2001:db8::42")]),
      new InformationRequestMessage(4, [clientId(), elapsed(0)]),
    ]
  ) {
    assert.equal(run(p, m, unicast).result.outcome, "do_not_respond", m.name);
  }
  // Request is what the permission is for.
  const request = new RequestMessage(5, [clientId(), serverId(), elapsed(0), iana(1)]);
  assert.equal(run(p, request, unicast).result.outcome, "reply");
});

Deno.test("hints that are not usable leases do not make a request unparsable (RFC 8415 §18.3)", () => {
  const p = pipeline();
  const hint = new IANAOption(1, 0, 0, [new IAAddressOption("::", 7200, 3600)]);
  const r = run(p, new SolicitMessage(1, [clientId(), elapsed(0), hint]));
  assert.equal(r.result.outcome, "reply");
  assert.equal(iaStatus(r.reply!.getOption(IANAOption)), StatusCode.NoAddrsAvail);
});

Deno.test("confirm: only addresses count; a Confirm with just prefixes gets no reply", () => {
  const p = pipeline();
  const onlyPrefixes = new ConfirmMessage(1, [clientId(), elapsed(0), iapd(1, "2001:db8:100::")]);
  assert.equal(run(p, onlyPrefixes).result.outcome, "do_not_respond");
});

Deno.test("isHandled answers what markHandled recorded, for the IAs a handler took", () => {
  let seen: boolean[] = [];
  class Probe extends Handler {
    override handle(bundle: TransactionBundle): void {
      const [first, second] = bundle.request.options.filter((o) => o instanceof IANAOption);
      seen = [bundle.isHandled(first), bundle.isHandled(second)];
      bundle.markHandled(first);
      seen.push(bundle.isHandled(first), bundle.isHandled(second));
    }
  }
  const reply = run(
    pipeline([new Probe()]),
    new RequestMessage(4, [
      clientId(),
      serverId(),
      elapsed(0),
      iana(1),
      iana(2),
    ]),
  ).reply!;
  assert.deepEqual(seen, [false, false, true, false]);
  // The IA the probe marked is left alone; the other gets the built-in NoAddrsAvail.
  const ias = reply.options.filter((o) => o instanceof IANAOption) as IANAOption[];
  assert.deepEqual(ias.map((ia) => [ia.iaid, iaStatus(ia)]), [[2, StatusCode.NoAddrsAvail]]);
});
