import assert from "node:assert/strict";
import {
  buildMessageHandler,
  ClientIdOption,
  ElapsedTimeOption,
  formatIssue,
  type HandleResult,
  InformationRequestMessage,
  installExtensions,
  LinkLayerDuid,
  loadConfigText,
  OptionRequestOption,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  type RelayReplyMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  StatisticsStore,
} from "@dhcpkit/dhcpkit";
import { captivePortalExtension } from "./mod.ts";
import { CaptivePortalOption } from "./option.ts";

// What the server does with the extension a configuration names: install it.
installExtensions([captivePortalExtension]);

const SERVER = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1]));
const CLIENT = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 2]));

Deno.test("the option survives a trip over the wire", () => {
  const reply = new ReplyMessage(0x1234, [
    new ClientIdOption(CLIENT),
    new ServerIdOption(SERVER),
    new CaptivePortalOption("https://portal.example.net/api"),
  ]);
  const parsed = parseMessage(serializeMessage(reply));
  parsed.validate();
  assert.deepEqual(parsed, reply);
});

Deno.test("a configuration with the section loads, and a bad URI is reported with its line", () => {
  const bad = loadConfigText(
    "<captive-portal>\n    uri http://portal.example.net/\n</captive-portal>\n",
    "/etc/dhcpkit/test.conf",
    { hostChecks: false },
  );
  assert.deepEqual(bad.errors.map(formatIssue), [
    "/etc/dhcpkit/test.conf:2: uri: `http://portal.example.net/` is not an https: URI",
  ]);
});

Deno.test("clients asking for option 103 get it", () => {
  // Build the pipeline from configuration text, as the server does.
  const config = loadConfigText(
    "<captive-portal>\n    uri https://portal.example.net/api\n</captive-portal>\n",
    "/etc/dhcpkit/test.conf",
    { hostChecks: false },
  ).config!;
  const pipeline = buildMessageHandler(config, SERVER);

  // Feed it a request the way a listener would: bytes and where they came from.
  const ask = (oro: number[]) => {
    const request = new InformationRequestMessage(0x4321, [
      new ClientIdOption(CLIENT),
      new ElapsedTimeOption(0),
      new OptionRequestOption(oro),
    ]);
    const result = pipeline.handle({
      data: serializeMessage(
        new RelayForwardMessage(0, "2001:db8::1", "fe80::2", [new RelayMessageOption(request)]),
      ),
      source: "2001:db8::2",
      sourcePort: 547,
      interfaceName: "eth0",
      linkAddress: "::",
      receivedOverMulticast: false,
      receivedOverTcp: false,
      marks: ["unmarked"],
    }, new StatisticsStore()) as HandleResult; // no lookups: answered at once
    const sent = parseMessage(result.replies[0].data) as RelayReplyMessage;
    return sent.getOption(RelayMessageOption)!.message;
  };

  assert.equal(
    ask([23, 103]).getOption(CaptivePortalOption)?.uri,
    "https://portal.example.net/api",
  );
  assert.equal(ask([23]).getOption(CaptivePortalOption), undefined);
  // The handler only passes its option to SimpleOptionHandler, which declares that it answers
  // every Information-request alike: the server may reuse such answers (extension-guide.md).
  assert.equal(pipeline.reusesAnswers, true);
});
