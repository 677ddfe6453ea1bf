/** Shared setup of the pool tests: a pipeline from configuration text with a temp lease store. */

import {
  type MessageHandler,
  type PipelineOptions,
  StatisticsStore,
} from "../../../src/pipeline/mod.ts";
import {
  type ClientServerMessage,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  LinkLayerDuid,
  type Message,
  parseMessage,
  RelayMessageOption,
  RelayReplyMessage,
  StatusCodeOption,
} from "../../../src/protocol/mod.ts";
import { SqliteLeaseStore } from "../../../src/handlers/pools/sqlite.ts";
import { poolsExtension } from "../../../src/handlers/pools/mod.ts";
import { packet, type PacketOptions, pipelineFromConfig } from "../../pipeline/helpers.ts";

/** A client DUID numbered `n`. */
export function client(n: number): LinkLayerDuid {
  return new LinkLayerDuid(1, new Uint8Array([0x02, 0, 0, 0, (n >> 8) & 0xff, n & 0xff]));
}

/** A pipeline from `config` (`STORE` is replaced by the lease store path), initialised. */
export async function poolPipeline(
  config: string,
  extra: Partial<PipelineOptions> = {},
): Promise<{
  pipeline: MessageHandler;
  dir: string;
  store: SqliteLeaseStore;
  cleanup: () => Promise<void>;
}> {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-" });
  const path = `${dir}/leases.sqlite`;
  // As the server builds it: with the pools extension's cleanup handler (the commit wait).
  const pipeline = pipelineFromConfig(config.replaceAll("STORE", path), {
    cleanupHandlers: poolsExtension.cleanupHandlers!({ configDir: dir, serverDuid: client(0) }),
    ...extra,
  });
  await pipeline.workerInit();
  const store = new SqliteLeaseStore(path);
  return {
    pipeline,
    dir,
    store,
    cleanup: async () => {
      store.close();
      await pipeline.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** Each IA_NA of a reply: iaid, T1/T2, addresses with lifetimes, status code. */
export function ianas(reply: ClientServerMessage) {
  return reply.getOptions(IANAOption).map((ia) => ({
    iaid: ia.iaid,
    t: `${ia.t1}/${ia.t2}`,
    addresses: ia.options.filter((o) => o instanceof IAAddressOption).map((o) => {
      const a = o as IAAddressOption;
      return `${a.address} ${a.preferredLifetime}/${a.validLifetime}`;
    }),
    status: ia.options.find((o) => o instanceof StatusCodeOption)?.statusCode,
  }));
}

/** Each IA_PD of a reply: iaid, T1/T2, prefixes with lifetimes, status code. */
export function iapds(reply: ClientServerMessage) {
  return reply.getOptions(IAPDOption).map((ia) => ({
    iaid: ia.iaid,
    t: `${ia.t1}/${ia.t2}`,
    prefixes: ia.options.filter((o) => o instanceof IAPrefixOption).map((o) => {
      const p = o as IAPrefixOption;
      return `${p.prefix}/${p.prefixLength} ${p.preferredLifetime}/${p.validLifetime}`;
    }),
    status: ia.options.find((o) => o instanceof StatusCodeOption)?.statusCode,
  }));
}

/** The first address of the first IA_NA of a reply. */
export function firstAddress(reply: ClientServerMessage): string | undefined {
  const a = reply.getOption(IANAOption)?.options.find((o) => o instanceof IAAddressOption);
  return (a as IAAddressOption | undefined)?.address;
}

/** The first prefix (`addr/len`) of the first IA_PD of a reply. */
export function firstPrefix(reply: ClientServerMessage): string | undefined {
  const p = reply.getOption(IAPDOption)?.options.find((o) => o instanceof IAPrefixOption) as
    | IAPrefixOption
    | undefined;
  return p ? `${p.prefix}/${p.prefixLength}` : undefined;
}

/** Lookups bounded as a server bounds them, with room for a loaded test machine. */
export const LOOKUPS = { timeoutMs: 10_000, enter: () => true, leave: () => {} };

/** Handle `message`, waiting for lookups and group commits, and parse the reply (if any). */
export async function ask(
  p: MessageHandler,
  message: Message,
  o: PacketOptions = {},
): Promise<ClientServerMessage | undefined> {
  const result = await p.handle(packet(message, o), new StatisticsStore(), LOOKUPS);
  if (result.replies.length === 0) return undefined;
  let inner = parseMessage(result.replies[0].data);
  while (inner instanceof RelayReplyMessage) inner = inner.getOption(RelayMessageOption)!.message;
  return inner as ClientServerMessage;
}
