/**
 * The small HTTP endpoints of the server (`<metrics>`, `<web-ui>`): one `Deno.serve` each, whose
 * handler errors are logged and answered with a 500, and a stop that may be called twice.
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** A request handler of an endpoint. */
export type HttpHandler = (request: Request) => Response | Promise<Response>;

/** A running HTTP endpoint; `key` tells whether a new configuration asks for the same one. */
export class HttpEndpoint {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  /**
   * Serve `handler` on `address`:`port` (binding is synchronous; throws when the port cannot be
   * bound); what it throws is logged on `log` as a failed `what` request.
   */
  protected constructor(
    address: string,
    port: number,
    log: Logger,
    what: string,
    handler: HttpHandler,
    readonly key: string,
  ) {
    this.#server = Deno.serve({
      hostname: address,
      port,
      onListen: () => {},
      onError: (e) => {
        log.error(`${what} request failed: {error}`, { error: (e as Error)?.message ?? e });
        return new Response("internal error\n", {
          status: 500,
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      },
    }, handler);
  }

  /** The address actually bound (useful with port 0). */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /** Stop serving. */
  async stop(): Promise<void> {
    try {
      await this.#server.shutdown();
    } catch {
      // already stopped
    }
  }
}
