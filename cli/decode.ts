/**
 * `dhcpkit decode`: print DHCPv6 messages given as hex or found in pcap / pcapng captures as one
 * JSON object per line.
 *
 * ```
 * dhcpkit decode 01000a0b0001000e0001000...     # hex arguments (whitespace and colons allowed)
 * echo 0100... | dhcpkit decode -                # hex lines on stdin ('#' comments, blank lines ok)
 * dhcpkit decode --pcap capture.pcapng           # UDP 546/547 over IPv6 in a capture
 * dhcpkit decode --validate --pcap capture.pcap  # also check the protocol rules
 * ```
 *
 * Every problem is one line on stderr (`dhcpkit decode: input 2: offset 44: reason`, or
 * `dhcpkit decode: FILE: frame 7: offset 4: reason`); the remaining inputs are still decoded and
 * the exit status is 1. Usage errors exit with status 2.
 * @module
 */

import { UsageError } from "./errors.ts";
import { runCommand } from "./run.ts";
import { DECODE } from "./usage/commands.ts";
import { formatHelp } from "./usage/help.ts";
import type { ParsedArgs } from "./usage/parse.ts";
import { readFile } from "node:fs/promises";
import { describeMessage, type Message, ParseError, parseMessage } from "../src/protocol/mod.ts";
import { type Dhcpv6Packet, extractDhcpv6, PcapError, readFrames } from "../src/tools/pcap.ts";

/** Where {@link decodeCommand} reads and writes; every member defaults to the process's own. */
export interface DecodeIo {
  /** Standard input: hex lines for `-`, or capture bytes for `--pcap -`. */
  stdin: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string> | string | Uint8Array;
  /** Receives each output line (a JSON object), newline included. */
  stdout: (text: string) => void;
  /** Receives each diagnostic line, newline included. */
  stderr: (text: string) => void;
}

/** The `dhcpkit decode` usage text (its `--help`). */
export const DECODE_USAGE: string = formatHelp(DECODE) + "\n";

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}

async function readAllStdin(stdin: DecodeIo["stdin"]): Promise<Uint8Array> {
  if (typeof stdin === "string") return encoder.encode(stdin);
  if (stdin instanceof Uint8Array) return stdin;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stdin as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let pos = 0;
  for (const c of chunks) out.set(c, pos), pos += c.length;
  return out;
}

/** Turn hex text (whitespace, colons, `0x` prefix allowed) into bytes, or explain what is wrong. */
export function parseHexInput(text: string): Uint8Array | string {
  const clean = text.trim().replace(/^0x/i, "").replace(/[\s:]/g, "");
  const bad = clean.search(/[^0-9a-fA-F]/);
  if (bad >= 0) return `not hex: unexpected ${JSON.stringify(clean[bad])} at hex digit ${bad}`;
  if (clean.length % 2 !== 0) return `not hex: odd number of hex digits (${clean.length})`;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function errorText(e: unknown): string {
  if (e instanceof ParseError || e instanceof PcapError) return `offset ${e.offset}: ${e.reason}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Run `dhcpkit decode` with `args` (the arguments after `decode`). Resolves to the exit status:
 * 0 when everything decoded (and validated), 1 when any input was malformed, 2 on usage errors.
 */
export async function decodeCommand(args: string[], io?: Partial<DecodeIo>): Promise<number> {
  const stdin = () => io?.stdin ?? Deno.stdin.readable;
  const stdout = io?.stdout ?? ((text: string) => writeAll(Deno.stdout, encoder.encode(text)));
  const stderr = io?.stderr ?? ((text: string) => writeAll(Deno.stderr, encoder.encode(text)));
  const output = {
    out: (line: string) => stdout(line + "\n"),
    err: (line: string) => stderr(line + "\n"),
  };
  return await runCommand(
    DECODE,
    args,
    output,
    (parsed) => decode(parsed, stdin, stdout, stderr, io),
  );
}

/** Decode what `parsed` names; the exit status. */
async function decode(
  parsed: ParsedArgs,
  stdin: () => DecodeIo["stdin"],
  stdout: DecodeIo["stdout"],
  stderr: DecodeIo["stderr"],
  io: Partial<DecodeIo> | undefined,
): Promise<number> {
  const inputs = chooseInputs(parsed, !io?.stdin && Deno.stdin.isTerminal());
  let failed = false;
  const fail: Fail = (where, what) => {
    failed = true;
    stderr(`dhcpkit decode: ${where}: ${what}\n`);
  };
  const decodeOne = messageDecoder(parsed.flag("validate"), stdout, fail);
  if (inputs.pcaps.length > 0) await decodeCaptures(inputs.pcaps, stdin, decodeOne, fail);
  else await decodeHexInputs(inputs.hex, stdin, decodeOne, fail);
  return failed ? 1 : 0;
}

/**
 * The capture files or hex inputs to decode (`-` is stdin, read at most once); with neither,
 * stdin unless it is a terminal. Throws {@link UsageError} for a combination that cannot work.
 */
function chooseInputs(
  parsed: ParsedArgs,
  stdinIsTerminal: boolean,
): { pcaps: string[]; hex: string[] } {
  const positionals = parsed.positionals;
  const pcaps = parsed.list("pcap");
  if (pcaps.length > 0 && positionals.length > 0) {
    throw new UsageError("give either --pcap files or hex inputs, not both");
  }
  if (pcaps.filter((p) => p === "-").length + positionals.filter((p) => p === "-").length > 1) {
    throw new UsageError("stdin ('-') can be read only once");
  }
  if (pcaps.length > 0 || positionals.length > 0) return { pcaps, hex: [...positionals] };
  if (stdinIsTerminal) throw new UsageError("give HEX messages, '-' for stdin, or --pcap FILE");
  return { pcaps, hex: ["-"] };
}

type DecodeOne = (
  where: string,
  bytes: Uint8Array,
  extra: Record<string, unknown>,
  note?: string,
) => void;
type Fail = (where: string, what: string) => void;

/**
 * A function that parses one message, prints it (after `extra`'s fields) and, with `validate`,
 * checks the protocol rules; problems go to `fail` under the `where` it is given.
 */
function messageDecoder(validate: boolean, stdout: DecodeIo["stdout"], fail: Fail): DecodeOne {
  return (where, bytes, extra, note = "") => {
    let message: Message;
    try {
      message = parseMessage(bytes);
    } catch (e) {
      fail(where, errorText(e) + note);
      return;
    }
    try {
      stdout(JSON.stringify({ ...extra, ...describeMessage(message) }) + "\n");
    } catch (e) {
      fail(where, `cannot describe message: ${errorText(e)}`);
      return;
    }
    if (!validate) return;
    try {
      message.validate();
    } catch (e) {
      fail(where, `invalid: ${errorText(e)}`);
    }
  };
}

/** Decode the DHCPv6 messages in each capture file (`-`: stdin). */
async function decodeCaptures(
  pcaps: readonly string[],
  stdin: () => DecodeIo["stdin"],
  decodeOne: DecodeOne,
  fail: Fail,
): Promise<void> {
  for (const file of pcaps) {
    const name = file === "-" ? "stdin" : file;
    let bytes: Uint8Array;
    try {
      bytes = file === "-" ? await readAllStdin(stdin()) : await readFile(file);
    } catch (e) {
      fail(name, errorText(e));
      continue;
    }
    decodeCapture(name, bytes, pcaps.length > 1, decodeOne, fail);
  }
}

/** Decode each hex input; `-` reads hex lines from stdin (`#` comments, blank lines skipped). */
async function decodeHexInputs(
  inputs: readonly string[],
  stdin: () => DecodeIo["stdin"],
  decodeOne: DecodeOne,
  fail: Fail,
): Promise<void> {
  let index = 0;
  for (const input of inputs) {
    if (input !== "-") {
      decodeHex(`input ${++index}`, input, decodeOne, fail);
      continue;
    }
    let text: string;
    try {
      text = new TextDecoder().decode(await readAllStdin(stdin()));
    } catch (e) {
      fail("stdin", errorText(e));
      continue;
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const content = line.replace(/#.*$/, "").trim();
      if (content === "") return;
      decodeHex(`input ${++index} (stdin line ${i + 1})`, content, decodeOne, fail);
    });
  }
}

function decodeHex(where: string, text: string, decodeOne: DecodeOne, fail: Fail): void {
  const bytes = parseHexInput(text);
  if (typeof bytes === "string") fail(where, bytes);
  else decodeOne(where, bytes, {});
}

function decodeCapture(
  name: string,
  bytes: Uint8Array,
  withFile: boolean,
  decodeOne: DecodeOne,
  fail: Fail,
): void {
  let lastFrame = 0;
  try {
    for (const frame of readFrames(bytes)) {
      lastFrame = frame.index;
      let packet: Dhcpv6Packet | undefined;
      try {
        packet = extractDhcpv6(frame);
      } catch (e) {
        fail(`${name}: frame ${frame.index}`, `cannot read packet: ${errorText(e)}`);
        continue;
      }
      if (!packet) continue;
      const where = `${name}: frame ${frame.index}`;
      if (packet.fragmented) {
        fail(where, "fragmented UDP datagram; IPv6 reassembly is not supported");
        continue;
      }
      const extra: Record<string, unknown> = {};
      if (withFile) extra.file = name;
      Object.assign(extra, {
        frame: frame.index,
        time: frame.time,
        src: packet.src,
        dst: packet.dst,
        sport: packet.sport,
        dport: packet.dport,
      });
      if (packet.truncated) extra.truncated = true;
      decodeOne(where, packet.payload, extra, packet.truncated ? " (packet truncated)" : "");
    }
  } catch (e) {
    const after = lastFrame > 0 ? ` after frame ${lastFrame}` : "";
    if (e instanceof PcapError) fail(name, `malformed capture${after}: ${errorText(e)}`);
    else fail(name, `cannot read capture${after}: ${errorText(e)}`);
  }
}
