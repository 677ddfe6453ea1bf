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
  type ConfigSection,
  type ContainsSpec,
  defaultRegistry,
  defineSection,
  isSectionOf,
  type KeySpec,
  type NameSpec,
  registerSectionType,
  SchemaRegistry,
  type SectionChecker,
  type SectionKind,
  type SectionSpec,
} from "./src/config/schema.ts";
export { alwaysSendKey, markKey, type OptionHandlerValues } from "./src/config/sections/common.ts";
export { loadConfig, loadConfigText, type ServerConfig } from "./src/config/loader.ts";
export { formatIssue } from "./src/config/errors.ts";
export * as datatypes from "./src/config/datatypes.ts";
export {
  type BuildContext,
  buildHandlerTree,
  type FilterFactory,
  type HandlerFactory,
  registerFilterFactory,
  registerHandlerFactory,
} from "./src/handlers/registry.ts";
export { main } from "./cli/main.ts";
export { VERSION } from "./src/version.ts";
