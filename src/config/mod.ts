/**
 * The configuration language: parser, schema registry, datatypes and loader.
 *
 * @example
 * ```ts
 * import { formatIssue, loadConfig } from "./mod.ts";
 * const { config, issues } = loadConfig("/etc/dhcpkit/dhcpkit.conf");
 * for (const issue of issues) console.error(formatIssue(issue));
 * ```
 *
 * @module
 */

export * from "./datatypes.ts";
export * from "./errors.ts";
export * from "./extensions.ts";
export * from "./loader.ts";
export * from "./parser.ts";
export * from "./schema.ts";
export { type ValidateOptions, validateTree } from "./validate.ts";
export {
  addressListKey,
  alwaysSendKey,
  domainNameListKey,
  markKey,
  type OptionHandlerValues,
  portKey,
} from "./sections/common.ts";
export * from "./sections/duid.ts";
export * from "./sections/listeners.ts";
export * from "./sections/logging.ts";
export { bindAddress, metricsSection, type MetricsValues } from "./sections/metrics.ts";
export { isLoopbackAddress, webUiSection, type WebUiValues } from "./sections/web_ui.ts";
export { coreSections, registerCoreSections } from "./sections/mod.ts";
export * from "./sections/server.ts";
export * from "./sections/statistics.ts";
