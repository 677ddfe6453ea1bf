/**
 * The server's management endpoints: the control socket and the `<metrics>` HTTP endpoint,
 * opened at start-up (as root), moved when a reload changes their address, closed at the end.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ServerConfig } from "../config/mod.ts";
import { type ControlCommands, ControlSocket } from "./control_socket.ts";
import { type Health, type MetricsServer, type MetricsSources, startMetrics } from "./metrics.ts";
import { withRootSync } from "./privileges.ts";
import { ensureDefaultFolder } from "./runtime_dir.ts";

const log = getLogger(["dhcpkit", "server"]);

/** What the endpoints answer with. */
export interface EndpointSources {
  /** The control socket's commands. */
  commands: ControlCommands;
  /** What `/metrics` shows. */
  metrics(): Promise<MetricsSources>;
  /** What `/healthz` and `/ready` say. */
  health(): Health;
}

/** The control socket and metrics endpoint of a server. */
export class Endpoints {
  #control?: ControlSocket;
  #metrics?: MetricsServer;

  /** `controlSocket`: the command line's path (`false`: none), fixed across reloads. */
  constructor(readonly sources: EndpointSources, readonly controlSocket?: string | false) {}

  /** The control socket path, when there is one. */
  get controlSocketPath(): string | undefined {
    return this.#control?.path;
  }

  /** The metrics endpoint address, when `<metrics>` is configured. */
  get metricsAddr(): Deno.NetAddr | undefined {
    return this.#metrics?.addr;
  }

  /** Open what `config` asks for (not serving commands yet); throws with a one-line message. */
  async open(config: ServerConfig): Promise<void> {
    const path = this.controlSocket ?? config.controlSocket;
    if (path) this.#control = await this.#openControl(path, config);
    const m = config.metrics;
    if (m) this.#metrics = startMetrics(m, this.sources.metrics, this.sources.health);
  }

  /** Start answering on the control socket. */
  serve(): void {
    this.#control?.serve();
  }

  #openControl(path: string, config: ServerConfig): Promise<ControlSocket> {
    const folder = ensureDefaultFolder(path);
    if (folder) log.info("Created {folder} for the control socket and PID file", { folder });
    return ControlSocket.open(path, this.sources.commands, {
      user: config.controlSocketUser,
      group: config.controlSocketGroup,
    });
  }

  /** Move the endpoints whose address `config` changes; a failure keeps the old one (logged). */
  async reload(config: ServerConfig): Promise<void> {
    const path = config.controlSocket;
    if (this.controlSocket === undefined && this.#control?.path !== path) {
      try {
        const control = path ? await this.#openControl(path, config) : undefined;
        this.#control?.close();
        this.#control = control;
        control?.serve();
      } catch (e) {
        log.error("Keeping control socket {old}: {error}", {
          old: this.#control?.path ?? "(none)",
          error: (e as Error).message,
        });
      }
    }
    const m = config.metrics;
    if (this.#metrics?.key === (m ? `${m.address}|${m.port}` : undefined)) return;
    await this.#metrics?.stop();
    this.#metrics = undefined;
    try {
      if (m) this.#metrics = startMetrics(m, this.sources.metrics, this.sources.health);
    } catch (e) {
      log.error("{error}", { error: (e as Error).message });
    }
  }

  /** Close both, removing the control socket (as root). */
  async close(): Promise<void> {
    withRootSync(() => this.#control?.closeAll());
    this.#control = undefined;
    await this.#metrics?.stop();
    this.#metrics = undefined;
  }
}
