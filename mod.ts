/**
 * dhcpkit's public API for extension authors.
 *
 * - The wire format: messages, options, DUIDs and the registries that new ones are added to.
 * - The pipeline: {@link Handler}, {@link RelayHandler}, {@link Filter}, the option-handler
 *   helpers, {@link TransactionBundle} and the signals handlers raise.
 * - Configuration: section types and their datatypes (`datatypes` namespace), and the factories
 *   that turn a section into a handler or filter.
 * - {@link main}: the `dhcpkit` program itself, for composing a custom executable.
 *
 * @example Register a vendor option and a handler section that sends it
 * ```ts
 * import { defineSection, datatypes, Option, registerOption, registerHandlerFactory,
 *   registerSectionType, SimpleOptionHandler, type Writer } from "./mod.ts";
 * ```
 * @module
 */

export * from "./src/protocol/mod.ts";
export * from "./src/pipeline/mod.ts";
export {
  type AnySpec,
  type ConfigSection,
  type ContainsSpec,
  defaultRegistry,
  defineSection,
  type GenericValues,
  isSectionOf,
  type KeySpec,
  type KindInfo,
  type NameSpec,
  registerSectionType,
  SchemaRegistry,
  type SectionChecker,
  type SectionKind,
  type SectionSpec,
} from "./src/config/schema.ts";
export { alwaysSendKey, markKey, type OptionHandlerValues } from "./src/config/sections/common.ts";
export {
  type DuidConfig,
  type ListenerConfig,
  loadConfig,
  loadConfigText,
  type LoadOptions,
  type LoadResult,
  type LoggingConfig,
  type LogHandlerConfig,
  type ServerConfig,
  type TypedSection,
} from "./src/config/loader.ts";
export type { ServerValues } from "./src/config/sections/server.ts";
export type { StatisticsValues } from "./src/config/sections/statistics.ts";
export type {
  DuidEnValues,
  DuidLltValues,
  DuidLlValues,
  DuidUuidValues,
} from "./src/config/sections/duid.ts";
export type {
  ListenerValues,
  ListenInterfaceValues,
  ListenTcpValues,
  ListenUnicastValues,
} from "./src/config/sections/listeners.ts";
export type {
  ConsoleLogValues,
  FileLogValues,
  LogFormat,
  LoggingValues,
  LogHandlerValues,
  RotateMode,
  SyslogFormat,
  SyslogLogValues,
} from "./src/config/sections/logging.ts";
export type { ParseOptions } from "./src/config/parser.ts";
export {
  type ConfigIssue,
  ConfigValueError,
  formatIssue,
  type IssueSeverity,
} from "./src/config/errors.ts";
export * as datatypes from "./src/config/datatypes.ts";
export { LOG_LEVELS, SYSLOG_FACILITIES } from "./src/config/datatypes.ts";
// Renamed: the protocol library has its own IPv6Prefix class.
export type {
  DataType,
  IPv6Address as ConfigIPv6Address,
  IPv6Prefix as ConfigIPv6Prefix,
  LogLevel,
  SyslogDestination,
  SyslogFacility,
  ValueContext,
} from "./src/config/datatypes.ts";
export {
  type BuildContext,
  buildHandlerTree,
  type FilterFactory,
  type HandlerFactory,
  type HandlerTree,
  registerFilterFactory,
  registerHandlerFactory,
} from "./src/handlers/registry.ts";
export { registerBuiltinSections } from "./src/handlers/builtin_sections.ts";
export { registerBuiltinHandlers } from "./src/handlers/builtin_handlers.ts";
export {
  composedExtensions,
  type ExtensionLoadResult,
  type ExtensionReference,
  findExtensions,
  loadExtensions,
  resolveExtension,
  useExtensions,
} from "./src/config/extensions.ts";

/**
 * Run the `dhcpkit` program with `args` (without the program name); resolves with the exit
 * status. Use it in the entry file of a custom executable, after importing the extensions.
 *
 * The program is imported when this is called, not when this module is: extensions loaded at
 * run time import this module while the program is still starting.
 */
export async function main(args: string[]): Promise<number> {
  const program = await import("./cli/main.ts");
  return await program.main(args);
}
export { VERSION } from "./src/version.ts";
