/**
 * Timing limit section types: iana-timing-limits and iapd-timing-limits.
 *
 * @module
 */

import {
  type ConfigSection,
  defineSection,
  duration,
  factor,
  INFINITY,
  type KeySpec,
  type SectionChecker,
} from "../../config/mod.ts";

/** Values of `<iana-timing-limits>` and `<iapd-timing-limits>` (seconds; INFINITY = 0xFFFFFFFF). */
export interface TimingLimitsValues {
  /** Lowest T1. */
  minT1: number;
  /** Highest T1. */
  maxT1: number;
  /** T1 as a fraction of the shortest preferred lifetime when not set yet; null = never. */
  factorT1: number | null;
  /** Lowest T2. */
  minT2: number;
  /** Highest T2. */
  maxT2: number;
  /** T2 as a fraction of the shortest preferred lifetime when not set yet; null = never. */
  factorT2: number | null;
}

const limit = duration({ infinity: true });

function timingKeys(what: string): KeySpec[] {
  const t1 = `T1 is when the client asks the server that gave it its ${what} to extend them.`;
  const t2 = `T2 is when the client asks any server to extend its ${what}.`;
  return [
    {
      name: "min-t1",
      type: limit,
      default: 0,
      description: `Lower bound for T1. ${t1}`,
      example: "30m",
    },
    {
      name: "max-t1",
      type: limit,
      default: INFINITY,
      defaultText: "INFINITY",
      description: `Upper bound for T1. ${t1}`,
      example: "12h",
    },
    {
      name: "factor-t1",
      type: factor,
      default: 0.5,
      description: `When T1 is not set yet, set it to this fraction of the shortest preferred ` +
        `lifetime of the ${what}. \`NONE\` leaves it unset.`,
      example: "0.5",
    },
    {
      name: "min-t2",
      type: limit,
      default: 0,
      description: `Lower bound for T2. ${t2}`,
      example: "30m",
    },
    {
      name: "max-t2",
      type: limit,
      default: INFINITY,
      defaultText: "INFINITY",
      description: `Upper bound for T2. ${t2}`,
      example: "1d",
    },
    {
      name: "factor-t2",
      type: factor,
      default: 0.8,
      description: `When T2 is not set yet, set it to this fraction of the shortest preferred ` +
        `lifetime of the ${what}. \`NONE\` leaves it unset.`,
      example: "0.8",
    },
  ];
}

function checkTiming(section: ConfigSection<TimingLimitsValues>, check: SectionChecker) {
  const v = section.values;
  if (v.minT1 > v.maxT1) check.error("min-t1 must not be more than max-t1");
  if (v.minT2 > v.maxT2) check.error("min-t2 must not be more than max-t2");
  if (v.minT1 > v.maxT2) check.error("min-t1 must not be more than max-t2");
  if (v.factorT1 !== null && v.factorT2 !== null && v.factorT1 > v.factorT2) {
    check.error("factor-t1 must not be more than factor-t2");
  }
}

const example = (type: string) =>
  [
    `<${type}>`,
    "    min-t1 30m",
    "    max-t1 12h",
    "    factor-t1 0.5",
    "    min-t2 30m",
    "    max-t2 1d",
    "    factor-t2 0.8",
    `</${type}>`,
  ].join("\n");

const syntax = " Times are seconds, or use the suffixes `s`, `m`, `h`, `d` and `w`; `INFINITY` " +
  "means no limit. Factors are from 0.0 to 1.0.";

/** `<iana-timing-limits>` handler. */
export const ianaTimingLimitsSection = defineSection<TimingLimitsValues>({
  type: "iana-timing-limits",
  kind: "handler",
  description: "Sets and bounds the T1 and T2 renewal times of the IA_NA options in responses. " +
    "Missing times are derived from the shortest preferred lifetime of the IA's addresses, " +
    "then both are kept between their minimum and maximum, T2 at most that lifetime and T1 at " +
    "most T2." + syntax,
  example: example("iana-timing-limits"),
  keys: timingKeys("addresses"),
  validate: checkTiming,
});

/** `<iapd-timing-limits>` handler. */
export const iapdTimingLimitsSection = defineSection<TimingLimitsValues>({
  type: "iapd-timing-limits",
  kind: "handler",
  description: "Sets and bounds the T1 and T2 renewal times of the IA_PD options in responses, " +
    "the same way `<iana-timing-limits>` does for addresses, based on the delegated prefixes." +
    syntax,
  example: example("iapd-timing-limits"),
  keys: timingKeys("prefixes"),
  validate: checkTiming,
});
