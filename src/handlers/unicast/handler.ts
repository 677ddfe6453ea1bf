/**
 * Handler for `<server-unicast>`: permits unicast from clients it applies to and tells them the
 * address (option 12, always sent where the response type allows it).
 * @module
 */

import { SimpleOptionHandler, type TransactionBundle } from "../../pipeline/mod.ts";
import { ServerUnicastOption } from "../../protocol/mod.ts";

/** Allows unicast and adds the Server Unicast option (12). */
export class ServerUnicastOptionHandler extends SimpleOptionHandler<ServerUnicastOption> {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static override readonly informationRequestsAlike = true;

  /** Create the handler for the server's unicast address (canonical IPv6 text). */
  constructor(address: string) {
    super(new ServerUnicastOption(address), true);
  }

  /** Permit unicast before the built-in unicast check runs. */
  override pre(bundle: TransactionBundle): void {
    bundle.allowUnicast = true;
  }
}
