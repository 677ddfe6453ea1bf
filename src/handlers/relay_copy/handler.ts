/**
 * Handlers for `<copy-remote-id/>` (37), `<copy-subscriber-id/>` (38) and
 * `<copy-linklayer-id/>` (79): echo the relay-added option back in each matching Relay-reply.
 * @module
 */

import { CopyRelayOptionHandler } from "../../pipeline/mod.ts";
import { LinkLayerIdOption } from "../../protocol/options/linklayer.ts";
import { RemoteIdOption } from "../../protocol/options/remote_id.ts";
import { SubscriberIdOption } from "../../protocol/options/subscriber_id.ts";

/** Echoes Remote-ID (37) options from relay-forwards into their relay-replies. */
export class CopyRemoteIdHandler extends CopyRelayOptionHandler {
  /** Create the handler. */
  constructor() {
    super(RemoteIdOption.code);
  }
}

/** Echoes Subscriber-ID (38) options from relay-forwards into their relay-replies. */
export class CopySubscriberIdHandler extends CopyRelayOptionHandler {
  /** Create the handler. */
  constructor() {
    super(SubscriberIdOption.code);
  }
}

/** Echoes Client Link-Layer Address (79) options from relay-forwards into their relay-replies. */
export class CopyLinkLayerIdHandler extends CopyRelayOptionHandler {
  /** Create the handler. */
  constructor() {
    super(LinkLayerIdOption.code);
  }
}
