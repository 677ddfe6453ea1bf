/**
 * The `<event-sink>` section type and its destination datatype.
 * @module
 */

import { ConfigValueError, datatypes, defineSection } from "@dhcpkit/dhcpkit";

/** Where events go: standard output, a file (appended to) or a Unix stream socket. */
export type Destination =
  | { readonly kind: "stdout" }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "unix"; readonly path: string };

/** `stdout`, `unix:PATH` or a file path; paths are relative to the configuration file's folder. */
export const destination: datatypes.DataType<Destination> = datatypes.dataType(
  "event destination",
  (text, ctx) => {
    if (text === "") throw new ConfigValueError("a destination is required");
    if (text.toLowerCase() === "stdout") return { kind: "stdout" };
    if (text.startsWith("unix:")) {
      return { kind: "unix", path: datatypes.pathInExistingDir.parse(text.slice(5), ctx) };
    }
    return { kind: "file", path: datatypes.pathInExistingDir.parse(text, ctx) };
  },
  "`stdout`, `unix:PATH` (a Unix stream socket) or the path of a file to append to; paths are " +
    "relative to the configuration file's folder",
);

/** Values of `<event-sink>`. */
export interface EventSinkValues {
  /** Where the JSON lines go. */
  destination: Destination;
  /** How many events may wait for the writer before new ones are dropped. */
  queueSize: number;
}

/** `<event-sink>`: a handler section that records every answered transaction. */
export const eventSinkSection = defineSection<EventSinkValues>({
  type: "event-sink",
  kind: "handler",
  description: "Writes one JSON line per answered transaction (time, message types, client " +
    "DUID, relay identifiers, assigned addresses and prefixes, status codes, handling time) to " +
    "a file, a Unix socket or standard output. Events wait in a bounded queue for an " +
    "asynchronous writer, so a slow consumer never slows the server down: when the queue is " +
    "full, events are dropped and counted, and the count is reported in the stream once there " +
    "is room again. Each worker writes its own stream (its own connection to a socket). Inside " +
    "a filter it records only the transactions the filter matches.",
  example: [
    "<event-sink>",
    "    destination unix:/run/dhcpkit/events.sock",
    "    queue-size 10000",
    "</event-sink>",
  ].join("\n"),
  keys: [{
    name: "destination",
    type: destination,
    required: true,
    description: "`stdout`, `unix:PATH` to connect to a Unix stream socket, or the path of a " +
      "file to append to (its folder must exist).",
    example: "/var/log/dhcpkit/events.jsonl",
  }, {
    name: "queue-size",
    type: datatypes.integer(1, 1_000_000),
    default: 10_000,
    description: "How many events may wait for the writer. More are dropped (and counted).",
    example: "1000",
  }],
});
