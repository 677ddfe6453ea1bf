/**
 * Errors raised by the wire-format layer.
 *
 * Parsing throws only {@link ParseError}; {@link ValidationError} comes from the separate
 * `validate()` step; {@link SerializeError} from building bytes out of values that cannot be encoded.
 * @module
 */

/** The one error type parsing may throw: the input bytes are not a valid encoding. */
export class ParseError extends Error {
  /** Byte offset in the parsed buffer where the problem was found. */
  readonly offset: number;
  /** What is wrong, without the offset. */
  readonly reason: string;

  /** Create a parse error for `reason` at byte `offset`. */
  constructor(offset: number, reason: string) {
    super(`offset ${offset}: ${reason}`);
    this.name = "ParseError";
    this.offset = offset;
    this.reason = reason;
  }
}

/** A parsed value breaks a protocol rule (value range, option placement, occurrence count). */
export class ValidationError extends Error {
  /** Create a validation error with a human-readable message. */
  constructor(message: string) {
    super(message);
    this.name = "ValidationError";
  }
}

/** A value cannot be encoded (bad address text, data too long for a length field, ...). */
export class SerializeError extends Error {
  /** Create a serialisation error with a human-readable message. */
  constructor(message: string) {
    super(message);
    this.name = "SerializeError";
  }
}
