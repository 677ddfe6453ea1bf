/**
 * dhcpkit's public API for extension authors: what an extension module imports. Everything else
 * is internal (importable by path, but free to change).
 *
 * - The extension shape: {@link defineExtension} with {@link handlerFor}, {@link filterFor} and
 *   {@link componentFor}, option definitions and hooks; {@link installExtensions} for tests.
 * - The wire format: messages, options, DUIDs, the parsing and writing helpers option classes
 *   use, and descriptions as JSON.
 * - The pipeline: {@link Handler}, {@link RelayHandler}, {@link Filter}, the option-handler
 *   helpers, {@link TransactionBundle}, the signals handlers raise, and {@link MessageHandler}
 *   to run a pipeline in tests.
 * - Configuration: section types, keys and their datatypes (`datatypes` namespace), loading a
 *   configuration and the typed {@link ServerConfig}.
 * - {@link main} and {@link useExtensions}: the `dhcpkit` program itself, for composing a custom
 *   executable.
 *
 * @example An extension: a section that sends a vendor option
 * ```ts
 * import { datatypes, defineExtension, defineSection, handlerFor, SimpleOptionHandler,
 *   UnknownOption, VendorSpecificInformationOption } from "./mod.ts";
 *
 * const acmeSection = defineSection<{ level: number }>({
 *   type: "acme-level",
 *   kind: "handler",
 *   description: "Tells ACME CPEs their service level.",
 *   keys: [{ name: "level", type: datatypes.integer(0, 9), required: true, description: "Level." }],
 * });
 *
 * export const acmeExtension = defineExtension({
 *   name: "acme",
 *   handlers: [handlerFor(acmeSection, ({ level }) => {
 *     const data = new UnknownOption(1, new Uint8Array([level]));
 *     return new SimpleOptionHandler(new VendorSpecificInformationOption(32473, [data]), true);
 *   })],
 * });
 * ```
 * @module
 */

// The wire format. (Imported before the handlers layer: built-in folders may import this module.)
export {
  AddressListOption,
  AdvertiseMessage,
  AFTRNameOption,
  AuthenticationOption,
  bytesEqual,
  checkDomainName,
  checkRoutable,
  checkUint,
  ClientDataOption,
  clientDuidOf,
  ClientFQDNOption,
  ClientIdOption,
  ClientServerMessage,
  CLTTimeOption,
  CONFIGURATION_MESSAGES,
  ConfirmMessage,
  DeclineMessage,
  describeDuid,
  describeMessage,
  describeOption,
  DomainListOption,
  DomainSearchListOption,
  Duid,
  duidFromBytes,
  DuidOption,
  EchoRequestOption,
  ElapsedTimeOption,
  EmptyOption,
  EnterpriseDuid,
  exactLength,
  findOption,
  findOptions,
  formatIPv6,
  FQDN_FLAG_N,
  FQDN_FLAG_O,
  FQDN_FLAG_S,
  fromHex,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  INFINITY,
  InfMaxRTOption,
  InformationRequestMessage,
  InterfaceIdOption,
  IPv6Prefix,
  isIPv6,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LinkLayerDuid,
  LinkLayerIdOption,
  LinkLayerTimeDuid,
  LQClientLinkOption,
  LQQueryOption,
  LQRelayDataOption,
  Message,
  messageName,
  minLength,
  need,
  normalizeIPv6,
  NTPMulticastAddressSubOption,
  NTPServerAddressSubOption,
  NTPServerFQDNSubOption,
  NTPServersOption,
  OpaqueOption,
  Option,
  optionCodeFromName,
  OptionCodeListOption,
  optionName,
  OptionRequestOption,
  optionTypes,
  optionTypesByName,
  parseAddressList,
  parseCodeList,
  parseDuid,
  ParseError,
  parseIPv6,
  parseMessage,
  parseOpaqueList,
  parseOptions,
  parseU32Data,
  PDExcludeOption,
  PosixTimezoneOption,
  PreferenceOption,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  QUERY_BY_REMOTE_ID,
  RapidCommitOption,
  readAddress,
  readBytes,
  readDomainList,
  readDomainName,
  readU16,
  readU32,
  readU8,
  readUtf8,
  RebindMessage,
  ReconfigureAcceptOption,
  ReconfigureMessage,
  ReconfigureMessageOption,
  RecursiveNameServersOption,
  RelayForwardMessage,
  RelayIdOption,
  RelayMessage,
  RelayMessageOption,
  RelayReplyMessage,
  RelaySourcePortOption,
  ReleaseMessage,
  RemoteIdOption,
  RenewMessage,
  ReplyMessage,
  RequestMessage,
  S46BROption,
  S46ContainerOption,
  S46DMROption,
  S46LWContainerOption,
  S46MapEContainerOption,
  S46MapTContainerOption,
  S46PortParametersOption,
  S46RuleOption,
  S46V4V6BindingOption,
  SerializeError,
  serializeMessage,
  ServerIdOption,
  ServerUnicastOption,
  SIPServersAddressListOption,
  SIPServersDomainNameListOption,
  SNTPServersOption,
  SolicitMessage,
  SolMaxRTOption,
  STATUS_NAMES,
  StatusCode,
  StatusCodeOption,
  SubscriberIdOption,
  toAsciiDomain,
  toHex,
  toUnicodeDomain,
  TZDBTimezoneOption,
  U32Option,
  UnknownDuid,
  UnknownMessage,
  UnknownOption,
  UserClassOption,
  UuidDuid,
  ValidationError,
  VendorClassOption,
  VendorSpecificInformationOption,
  writeDomainList,
  writeDomainName,
  writeOptions,
  Writer,
} from "./src/protocol/mod.ts";
export type { DuidType, MessageType, OptionType, WireName } from "./src/protocol/mod.ts";

// The pipeline.
export {
  CannotRespond,
  CopyOptionHandler,
  CopyRelayOptionHandler,
  ExplainRecorder,
  ExtensionStatistics,
  extensionStatistics,
  Filter,
  ForOtherServer,
  Handler,
  HandlerSignal,
  MessageHandler,
  OverwriteOptionHandler,
  RelayHandler,
  ReplyWithLeasequeryError,
  ReplyWithStatus,
  responseMayContain,
  shouldSend,
  SimpleOptionHandler,
  StatisticsStore,
  TransactionBundle,
  UseMulticast,
} from "./src/pipeline/mod.ts";
export type {
  ExplainFilterStep,
  ExplainHandlerStep,
  ExplainPoolStep,
  ExplainSourceStep,
  ExplainTrace,
  ExtensionStatisticsDelta,
  HandleResult,
  IncomingPacket,
  LookupControl,
  LookupDrop,
  Outcome,
  OutgoingPacket,
  PipelineOptions,
  Recorder,
  Series,
  StatisticFamilies,
  StatisticFamily,
  StatisticsCategories,
} from "./src/pipeline/mod.ts";

// Configuration.
export {
  alwaysSendKey,
  ConfigValueError,
  defineSection,
  formatIssue,
  isSectionOf,
  loadConfig,
  loadConfigText,
  markKey,
  SchemaRegistry,
} from "./src/config/mod.ts";
export type {
  AnySpec,
  ConfigIssue,
  ConfigSection,
  ConsoleLogValues,
  ContainsSpec,
  DuidConfig,
  DuidEnValues,
  DuidLltValues,
  DuidLlValues,
  DuidUuidValues,
  FileLogValues,
  GenericValues,
  IssueSeverity,
  KeySpec,
  KindInfo,
  ListenerConfig,
  ListenerValues,
  ListenInterfaceValues,
  ListenTcpValues,
  ListenUnicastValues,
  LoadOptions,
  LoadResult,
  LogFormat,
  LoggingConfig,
  LoggingValues,
  LogHandlerConfig,
  LogHandlerValues,
  MetricsValues,
  NameSpec,
  OptionHandlerValues,
  ParseOptions,
  RotateMode,
  SectionChecker,
  SectionKind,
  SectionSpec,
  ServerConfig,
  ServerValues,
  StatisticsValues,
  SyslogFormat,
  SyslogLogValues,
  TypedSection,
  WebUiValues,
} from "./src/config/mod.ts";
export * as datatypes from "./src/config/datatypes.ts";
export { LOG_LEVELS, SYSLOG_FACILITIES } from "./src/config/datatypes.ts";
// A configured address is {text, bytes}; a configured prefix is the protocol's IPv6Prefix.
export type {
  DataType,
  IPv6Address as ConfigIPv6Address,
  LogLevel,
  SyslogDestination,
  SyslogFacility,
  ValueContext,
} from "./src/config/datatypes.ts";

// The extension shape.
export {
  buildComponent,
  buildHandlerTree,
  BUILTIN_EXTENSIONS,
  componentFor,
  defineExtension,
  filterFor,
  handlerFor,
  installBuiltins,
  installExtensions,
  isExtension,
  sharedDataFor,
  useExtensions,
} from "./src/handlers/mod.ts";
export type {
  BuildContext,
  ComponentDefinition,
  Extension,
  FilterDefinition,
  HandlerDefinition,
  HandlerTree,
  OptionDefinition,
  OptionPlacement,
  SectionAddition,
  SectionFactory,
  SharedDataDefinition,
  StreamResponder,
} from "./src/handlers/mod.ts";
export { sharedBuffer, sharedData } from "./src/handlers/shared_memory.ts";
export { buildMessageHandler } from "./src/server/pipeline_builder.ts";

/**
 * Run the `dhcpkit` program with `args` (without the program name); resolves with the exit
 * status. Use it in the entry file of a custom executable, after {@link useExtensions}.
 *
 * The program is imported when this is called, not when this module is: extensions loaded at
 * run time import this module while the program is still starting.
 */
export async function main(args: string[]): Promise<number> {
  const program = await import("./cli/main.ts");
  return await program.main(args);
}
export { VERSION } from "./src/version.ts";
