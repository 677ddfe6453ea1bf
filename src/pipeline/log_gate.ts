/**
 * Cheap "is this level logged?" checks for the request path. LogTape answers
 * `isEnabledFor` by walking the logger's ancestors and comparing level names on every call;
 * a gate asks once and keeps the answer until the logging configuration changes (the server's
 * logging setup calls {@link logConfigurationChanged} after every `configure`).
 * @module
 */

import type { Logger, LogLevel } from "@logtape/logtape";

let generation = 0;

/** Forget every gate's answer: call after LogTape was (re)configured. */
export function logConfigurationChanged(): void {
  generation++;
}

/** Whether `logger` logs `level`, asked again only after the configuration changed. */
export class LogGate {
  #on = false;
  #generation = -1;

  /** A gate for `level` on `logger`. */
  constructor(readonly logger: Logger, readonly level: LogLevel) {}

  /** Whether a record of the gate's level would reach a sink. */
  get on(): boolean {
    if (this.#generation !== generation) {
      this.#on = this.logger.isEnabledFor(this.level);
      this.#generation = generation;
    }
    return this.#on;
  }
}
