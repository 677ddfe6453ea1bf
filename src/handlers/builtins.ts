/**
 * The built-in extensions, one line each. A new built-in handler is a folder under
 * `src/handlers/` whose `mod.ts` exports its extension object, plus its line here; nothing else
 * names it. (`BUILTIN_EXTENSIONS`, in `extension_loader.ts`, collects every extension exported
 * here.)
 * @module
 */

export { dnsExtension } from "./dns/mod.ts";
export { dsliteExtension } from "./dslite/mod.ts";
export { filtersExtension } from "./filters/mod.ts";
export { ignoreExtension } from "./ignore/mod.ts";
export { leasequeryExtension } from "./leasequery/mod.ts";
export { mapExtension } from "./map/mod.ts";
export { maxRtExtension } from "./max_rt/mod.ts";
export { ntpExtension } from "./ntp/mod.ts";
export { poolsExtension } from "./pools/mod.ts";
export { preferenceExtension } from "./preference/mod.ts";
export { radiusExtension } from "./radius/mod.ts";
export { rateLimitExtension } from "./rate_limit/mod.ts";
export { relayCopyExtension } from "./relay_copy/mod.ts";
export { sipExtension } from "./sip/mod.ts";
export { sntpExtension } from "./sntp/mod.ts";
export { staticExtension } from "./static/mod.ts";
export { timingExtension } from "./timing/mod.ts";
export { unicastExtension } from "./unicast/mod.ts";
