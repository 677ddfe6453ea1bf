/**
 * Registration of every built-in section type: the core ones and those of the bundled
 * handler and filter extensions.
 *
 * @module
 */

import {
  defaultRegistry,
  registerCoreSections,
  type SchemaRegistry,
  type SectionSpec,
} from "../config/mod.ts";
import { dnsSections } from "./dns/section.ts";
import { dsliteSections } from "./dslite/section.ts";
import { filterSections } from "./filters/section.ts";
import { ignoreSections } from "./ignore/section.ts";
import { leasequerySections } from "./leasequery/section.ts";
import { mapSections } from "./map/section.ts";
import { maxRtSections } from "./max_rt/section.ts";
import { ntpSections } from "./ntp/section.ts";
import { preferenceSections } from "./preference/section.ts";
import { rateLimitSections } from "./rate_limit/section.ts";
import { relayCopySections } from "./relay_copy/section.ts";
import { sipSections } from "./sip/section.ts";
import { sntpSections } from "./sntp/section.ts";
import { staticSections } from "./static/section.ts";
import { timingSections } from "./timing/section.ts";
import { unicastSections } from "./unicast/section.ts";

/** The built-in filter and handler section types (plus lq-sqlite and map-rule). */
// deno-lint-ignore no-explicit-any
export const builtinHandlerSections: readonly SectionSpec<any>[] = [
  ...filterSections,
  ...dsliteSections,
  ...relayCopySections,
  ...dnsSections,
  ...timingSections,
  ...ignoreSections,
  ...maxRtSections,
  ...leasequerySections,
  ...mapSections,
  ...ntpSections,
  ...preferenceSections,
  ...rateLimitSections,
  ...sipSections,
  ...sntpSections,
  ...staticSections,
  ...unicastSections,
];

/** Register the core and built-in handler section types (idempotent). */
export function registerBuiltinSections(
  registry: SchemaRegistry = defaultRegistry,
): SchemaRegistry {
  registerCoreSections(registry);
  for (const spec of builtinHandlerSections) registry.register(spec);
  return registry;
}
