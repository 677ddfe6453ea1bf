/**
 * Loading a configuration: parse, validate and build the typed {@link ServerConfig}.
 *
 * @module
 */

import { ConfigError, type ConfigIssue, IssueCollector } from "./errors.ts";
import { parseConfigFile, parseConfigText, type ParseOptions } from "./parser.ts";
import { type ConfigSection, defaultRegistry, isSectionOf, type SchemaRegistry } from "./schema.ts";
import type { DuidEnValues, DuidLltValues, DuidLlValues, DuidUuidValues } from "./sections/duid.ts";
import type {
  ListenInterfaceValues,
  ListenTcpValues,
  ListenUnicastValues,
} from "./sections/listeners.ts";
import {
  type ConsoleLogValues,
  type FileLogValues,
  loggingSection,
  type LoggingValues,
  type SyslogLogValues,
} from "./sections/logging.ts";
import { metricsSection, type MetricsValues } from "./sections/metrics.ts";
import { webUiSection, type WebUiValues } from "./sections/web_ui.ts";
import { registerCoreSections } from "./sections/mod.ts";
import { serverSection, type ServerValues } from "./sections/server.ts";
import { statisticsSection, type StatisticsValues } from "./sections/statistics.ts";
import { validateTree } from "./validate.ts";

/** A section of a known type: `type` is a literal, so checking it narrows `values`. */
export type TypedSection<T extends string, V extends object> = ConfigSection<V> & {
  readonly type: T;
};

/** A DUID section; check `type` to narrow `values`. */
export type DuidConfig =
  | TypedSection<"duid-en", DuidEnValues>
  | TypedSection<"duid-ll", DuidLlValues>
  | TypedSection<"duid-llt", DuidLltValues>
  | TypedSection<"duid-uuid", DuidUuidValues>;

/** A listener section; check `type` to narrow `values`. */
export type ListenerConfig =
  | TypedSection<"listen-interface", ListenInterfaceValues>
  | TypedSection<"listen-unicast", ListenUnicastValues>
  | TypedSection<"listen-tcp", ListenTcpValues>;

/** A log handler section; check `type` to narrow `values`. */
export type LogHandlerConfig =
  | TypedSection<"console", ConsoleLogValues>
  | TypedSection<"file", FileLogValues>
  | TypedSection<"syslog", SyslogLogValues>;

/** The logging configuration. */
export interface LoggingConfig extends LoggingValues {
  /** Log handlers in file order. */
  readonly handlers: readonly LogHandlerConfig[];
}

/** The whole server configuration, typed. The server builds its pipeline from this alone. */
export interface ServerConfig extends Readonly<ServerValues> {
  /** Path of the main configuration file. */
  readonly file: string;
  /** The server's DUID section, if configured. */
  readonly serverId?: DuidConfig;
  /** Logging (empty handler list when there is no `<logging>`). */
  readonly logging: LoggingConfig;
  /** Statistics categories (empty lists when there is no `<statistics>`). */
  readonly statistics: StatisticsValues;
  /** The `/metrics` HTTP endpoint, when `<metrics>` is configured. */
  readonly metrics?: MetricsValues;
  /** The looking glass web site, when `<web-ui>` is configured. */
  readonly webUi?: WebUiValues;
  /** Listeners in file order. */
  readonly listeners: readonly ListenerConfig[];
  /**
   * Top-level filters and handlers in file order; filters hold their nested filters and handlers
   * in `children`.
   */
  readonly handlers: readonly ConfigSection[];
  /** The complete typed tree (includes sections of extension kinds). */
  readonly root: ConfigSection<ServerValues>;
}

/** Options for {@link loadConfig}. */
export interface LoadOptions extends ParseOptions {
  /** Registry of section types; defaults to {@link defaultRegistry}. */
  readonly registry?: SchemaRegistry;
  /** Run checks that need the host (interfaces, addresses, users, files). Default true. */
  readonly hostChecks?: boolean;
}

/** Result of loading: the configuration when there were no errors, and all issues found. */
export interface LoadResult {
  /** The typed configuration; undefined when there are errors. */
  readonly config?: ServerConfig;
  /** Every error and warning, sorted by file and line. */
  readonly issues: readonly ConfigIssue[];
  /** Just the errors (issues with severity `error`). */
  readonly errors: readonly ConfigIssue[];
}

/** Read, validate and type a configuration file. Never throws for problems in the file. */
export function loadConfig(path: string, options: LoadOptions = {}): LoadResult {
  const issues = new IssueCollector();
  const syntax = parseConfigFile(path, issues, options);
  return finish(path, syntax, issues, options);
}

/** Like {@link loadConfig} for text that is not in a file; `file` names it in messages. */
export function loadConfigText(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const issues = new IssueCollector();
  const syntax = parseConfigText(text, file, issues, options);
  return finish(file, syntax, issues, options);
}

/** Load a configuration or throw a {@link ConfigError} listing every error. */
export function loadConfigOrThrow(path: string, options: LoadOptions = {}): ServerConfig {
  const result = loadConfig(path, options);
  if (!result.config) throw new ConfigError(result.errors);
  return result.config;
}

function finish(
  file: string,
  syntax: ReturnType<typeof parseConfigFile>,
  issues: IssueCollector,
  options: LoadOptions,
): LoadResult {
  const registry = options.registry ?? defaultRegistry;
  registerCoreSections(registry);
  const root = validateTree(syntax, issues, {
    registry,
    hostChecks: options.hostChecks ?? true,
  });
  const sorted = issues.sorted();
  const errors = sorted.filter((i) => i.severity === "error");
  if (errors.length > 0) return { issues: sorted, errors };
  if (!isSectionOf(root, serverSection)) throw new Error("the root section is not <server>");
  return { config: buildServerConfig(file, root), issues: sorted, errors };
}

/** Assemble the {@link ServerConfig} view of a validated root section. */
export function buildServerConfig(file: string, root: ConfigSection<ServerValues>): ServerConfig {
  const logging = root.children.find((c) => isSectionOf(c, loggingSection));
  const statistics = root.children.find((c) => isSectionOf(c, statisticsSection));
  const metrics = root.children.find((c) => isSectionOf(c, metricsSection));
  return {
    ...root.values,
    file,
    serverId: root.children.find((c) => c.kind === "duid") as unknown as DuidConfig | undefined,
    logging: {
      logMultiprocessing: logging?.values.logMultiprocessing ?? false,
      handlers: (logging?.children ?? []) as unknown as readonly LogHandlerConfig[],
    },
    statistics: statistics?.values ?? { interfaces: [], subnets: [], relays: [] },
    metrics: metrics?.values,
    webUi: root.children.find((c) => isSectionOf(c, webUiSection))?.values as
      | WebUiValues
      | undefined,
    listeners: root.children.filter((c) => c.kind === "listener") as unknown as ListenerConfig[],
    handlers: root.children.filter((c) => c.kind === "filter" || c.kind === "handler"),
    root,
  };
}
