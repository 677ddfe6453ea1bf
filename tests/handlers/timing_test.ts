import assert from "node:assert/strict";
import { Handler, type TransactionBundle } from "../../src/pipeline/mod.ts";
import {
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  INFINITY,
  RapidCommitOption,
  RequestMessage,
  SolicitMessage,
  StatusCode,
  type StatusCodeOption,
} from "../../src/protocol/mod.ts";
import {
  applyTimingLimits,
  IANATimingLimitsHandler,
  IAPDTimingLimitsHandler,
  type TimingLimits,
} from "../../src/handlers/timing/handler.ts";
import {
  clientId,
  elapsed,
  iana,
  iapd,
  pipeline,
  pipelineFromConfig,
  run,
  serverId,
} from "../pipeline/helpers.ts";

const DEFAULTS = {
  minT1: 0,
  maxT1: INFINITY,
  factorT1: 0.5,
  minT2: 0,
  maxT2: INFINITY,
  factorT2: 0.8,
};
const limits = (l: TimingLimits) => ({ ...DEFAULTS, ...l });

Deno.test("timing algorithm: factors fill zero timers", () => {
  assert.deepEqual(applyTimingLimits(0, 0, 3600, DEFAULTS), { t1: 1800, t2: 2880 });
  assert.deepEqual(applyTimingLimits(0, 0, 1001, DEFAULTS), { t1: 500, t2: 800 });
  // Timers already set are kept (only clamped).
  assert.deepEqual(applyTimingLimits(100, 200, 3600, DEFAULTS), { t1: 100, t2: 200 });
  // Factor NONE leaves a zero timer at its minimum.
  assert.deepEqual(applyTimingLimits(0, 0, 3600, limits({ factorT1: null, factorT2: null })), {
    t1: 0,
    t2: 0,
  });
  assert.deepEqual(
    applyTimingLimits(0, 0, 3600, limits({ factorT1: null, minT1: 60, minT2: 120 })),
    { t1: 60, t2: 2880 },
  );
});

Deno.test("timing algorithm: min/max clamps, T2 at most the lifetime, T1 at most T2", () => {
  assert.deepEqual(applyTimingLimits(0, 0, 3600, limits({ minT1: 2000, minT2: 3000 })), {
    t1: 2000,
    t2: 3000,
  });
  assert.deepEqual(applyTimingLimits(0, 0, 3600, limits({ maxT1: 1000, maxT2: 2000 })), {
    t1: 1000,
    t2: 2000,
  });
  assert.deepEqual(applyTimingLimits(0, 0, 3600, limits({ minT2: 5000 })), { t1: 1800, t2: 3600 });
  assert.deepEqual(applyTimingLimits(0, 0, 3600, limits({ minT1: 5000, minT2: 5000 })), {
    t1: 3600,
    t2: 3600,
  });
  assert.deepEqual(applyTimingLimits(5000, 1000, 3600, DEFAULTS), { t1: 1000, t2: 1000 });
  assert.deepEqual(applyTimingLimits(0, 0, 0, DEFAULTS), { t1: 0, t2: 0 });
});

Deno.test("timing algorithm: INFINITY", () => {
  assert.deepEqual(applyTimingLimits(0, 0, INFINITY, DEFAULTS), { t1: INFINITY, t2: INFINITY });
  assert.deepEqual(applyTimingLimits(0, 0, INFINITY, limits({ maxT1: 3600, maxT2: 7200 })), {
    t1: 3600,
    t2: 7200,
  });
  assert.deepEqual(applyTimingLimits(INFINITY, INFINITY, 3600, DEFAULTS), { t1: 3600, t2: 3600 });
});

Deno.test("timing handler normalises limits: max-t1 <= max-t2, min-t2 >= min-t1", () => {
  const h = new IANATimingLimitsHandler({ maxT1: 9000, maxT2: 5000, minT1: 300, minT2: 100 });
  assert.equal(h.limits.maxT1, 5000);
  assert.equal(h.limits.minT2, 300);
  assert.equal(h.limits.factorT1, 0.5);
  assert.equal(h.limits.factorT2, 0.8);
});

/** Answers IA_NA / IA_PD with fixed leases (stands in for an assignment handler). */
class FakeAssignHandler extends Handler {
  constructor(readonly preferred: number[], readonly t1 = 0, readonly t2 = 0) {
    super();
  }
  override handle(bundle: TransactionBundle): void {
    for (const ia of bundle.getUnhandledOptions(IANAOption)) {
      bundle.response.options.push(
        new IANAOption(
          ia.iaid,
          this.t1,
          this.t2,
          this.preferred.map((p, i) =>
            new IAAddressOption(`2001:db8::${i + 1}`, p, p === INFINITY ? p : p * 2)
          ),
        ),
      );
      bundle.markHandled(ia);
    }
    for (const ia of bundle.getUnhandledOptions(IAPDOption)) {
      bundle.response.options.push(
        new IAPDOption(
          ia.iaid,
          this.t1,
          this.t2,
          this.preferred.map((p, i) =>
            new IAPrefixOption(p, p === INFINITY ? p : p * 2, 56, `2001:db8:${i + 1}::`)
          ),
        ),
      );
      bundle.markHandled(ia);
    }
  }
}

Deno.test("timing handlers see IAs added by handlers configured after them", () => {
  const p = pipeline([
    new IANATimingLimitsHandler({ maxT1: 1000 }),
    new IAPDTimingLimitsHandler({ minT2: 10000 }),
    new FakeAssignHandler([7200, 3600]),
  ]);
  const { reply } = run(p, new SolicitMessage(1, [clientId(), elapsed(0), iana(1), iapd(2)]));
  const na = reply!.getOption(IANAOption)!;
  assert.deepEqual([na.t1, na.t2], [1000, 2880]);
  const pd = reply!.getOption(IAPDOption)!;
  assert.deepEqual([pd.t1, pd.t2], [1800, 3600]);
});

Deno.test("timing handlers leave IAs without leases alone, and do not touch the other IA kind", () => {
  const p = pipeline([new IANATimingLimitsHandler({ minT1: 100 })]);
  const { reply } = run(
    p,
    new RequestMessage(1, [clientId(), serverId(), elapsed(0), iana(1), iapd(2)]),
  );
  const na = reply!.getOption(IANAOption)!;
  assert.deepEqual([na.t1, na.t2], [0, 0]);
  assert.equal((na.options[0] as StatusCodeOption).statusCode, StatusCode.NoAddrsAvail);
  const pd = reply!.getOption(IAPDOption)!;
  assert.deepEqual([pd.t1, pd.t2], [0, 0]);
});

Deno.test("timing handler with INFINITY leases and preset timers via configuration", () => {
  const tree = pipelineFromConfig(`
<iana-timing-limits>
  max-t1 12h
  max-t2 1d
</iana-timing-limits>`);
  // Configuration alone: IAs the built-in cleanup answers (no leases) are untouched.
  const r = run(tree, new SolicitMessage(1, [clientId(), elapsed(0), iana(1)]));
  assert.deepEqual([r.reply!.getOption(IANAOption)!.t1, r.reply!.getOption(IANAOption)!.t2], [
    0,
    0,
  ]);

  const p = pipeline([
    new IANATimingLimitsHandler({ maxT1: 43200, maxT2: 86400 }),
    new FakeAssignHandler([INFINITY]),
  ]);
  const na = run(p, new SolicitMessage(1, [clientId(), elapsed(0), iana(1)])).reply!.getOption(
    IANAOption,
  )!;
  assert.deepEqual([na.t1, na.t2], [43200, 86400]);

  const preset = pipeline([
    new IANATimingLimitsHandler({}),
    new FakeAssignHandler([3600], 600, 900),
  ]);
  const na2 = run(preset, new SolicitMessage(1, [clientId(), elapsed(0), iana(1)])).reply!
    .getOption(IANAOption)!;
  assert.deepEqual([na2.t1, na2.t2], [600, 900]);
});

Deno.test("timing applies after rapid commit turned the Advertise into a Reply", () => {
  const p = pipeline([new IANATimingLimitsHandler({}), new FakeAssignHandler([1000])], [], {
    allowRapidCommit: true,
  });
  const { reply } = run(
    p,
    new SolicitMessage(1, [clientId(), elapsed(0), new RapidCommitOption(), iana(1)]),
  );
  assert.equal(reply!.type, 7);
  assert.equal(reply!.options[0].code, 14);
  const na = reply!.getOption(IANAOption)!;
  assert.deepEqual([na.t1, na.t2], [500, 800]);
});

Deno.test("timing handler: addresses being withdrawn (lifetime 0) do not set the timers", () => {
  /** Renews one address and withdraws another, as a static handler does after a change. */
  class RenewAndWithdraw extends Handler {
    override handle(bundle: TransactionBundle): void {
      bundle.response.options.push(
        new IANAOption(1, 0, 0, [
          new IAAddressOption("2001:db8::1", 0, 0),
          new IAAddressOption("2001:db8::2", 3600, 7200),
        ]),
      );
      for (const ia of bundle.getUnhandledOptions(IANAOption)) bundle.markHandled(ia);
    }
  }
  const p = pipeline([new RenewAndWithdraw(), new IANATimingLimitsHandler({ minT1: 600 })]);
  const r = run(p, new RequestMessage(1, [clientId(), serverId(), elapsed(0), iana(1)]));
  const ia = r.reply!.getOption(IANAOption)!;
  assert.deepEqual([ia.t1, ia.t2], [1800, 2880]);
});
