/**
 * Logging shared by the three binaries: a consola instance whose reporter
 * writes logrus-style lines, because containerd reads sysbox-runc's
 * `--log FILE --log-format json` and shows users the `msg` of the last
 * `"level":"error"` line.
 *
 *   json:  {"level":"error","msg":"container not found","time":"2026-11-28T12:00:00Z"}
 *   text:  time="2026-11-28T12:00:00Z" level=error msg="container not found"
 *
 * Lines are written synchronously: a CLI often logs its error and exits at once.
 */
import { openSync, writeSync } from "node:fs";
import { formatWithOptions } from "node:util";
import { createConsola, type ConsolaInstance, type LogObject, type LogType } from "consola/core";

/**
 * What internal packages log through. A package that needs fewer levels takes
 * `Pick<Logger, "debug" | "warn">`; consola's instance and tests' recorders fit.
 */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export type LogFormat = "text" | "json";
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogOptions {
  /** Append to this file (created if missing); stderr when absent. */
  file?: string;
  format: LogFormat;
  level: LogLevel;
}

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];
export const LOG_LEVEL_NAMES: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** consola's numeric threshold for each level name. */
const CONSOLA_LEVEL: Record<LogLevel, number> = { error: 0, warn: 1, info: 3, debug: 4 };

/**
 * logrus's level name for each consola type. `fatal` and `fail` map to
 * "error", not "fatal": containerd only surfaces lines whose level is "error".
 */
const LOGRUS_LEVEL: Record<LogType, string> = {
  silent: "info",
  fatal: "error",
  error: "error",
  fail: "error",
  warn: "warning",
  log: "info",
  info: "info",
  success: "info",
  ready: "info",
  start: "info",
  box: "info",
  debug: "debug",
  trace: "trace",
  verbose: "trace",
};

/** RFC 3339 in UTC with whole seconds, as logrus prints it. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The message text: consola's args printf-style, an Error as its message only. */
export function formatMessage(args: readonly unknown[]): string {
  const plain = args.map((a) => (a instanceof Error ? a.message : a));
  return formatWithOptions({ colors: false, breakLength: Infinity }, ...plain);
}

type Entry = Pick<LogObject, "type" | "args" | "date"> & { tag?: string };

/** consola's tag (from `withTag`) becomes a `tag: ` prefix; logrus has no field for it. */
function message(obj: Entry): string {
  const msg = formatMessage(obj.args);
  return obj.tag ? `${obj.tag}: ${msg}` : msg;
}

/** One line of `--log-format json`, without the newline. */
export function formatJsonLine(obj: Entry): string {
  return JSON.stringify({ level: LOGRUS_LEVEL[obj.type] ?? "info", msg: message(obj), time: rfc3339(obj.date) });
}

/** One line of `--log-format text` (logrus's text formatter), without the newline. */
export function formatTextLine(obj: Entry): string {
  return `time=${JSON.stringify(rfc3339(obj.date))} level=${LOGRUS_LEVEL[obj.type] ?? "info"} msg=${JSON.stringify(message(obj))}`;
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off);
}

/** Creates the process's logger; with `file`, lines are appended there instead of stderr. */
export function setupLogging(opts: LogOptions): ConsolaInstance {
  const fd = opts.file === undefined ? 2 : openSync(opts.file, "a", 0o644);
  const format = opts.format === "json" ? formatJsonLine : formatTextLine;
  return createConsola({
    level: CONSOLA_LEVEL[opts.level],
    // consola would fold repeated identical lines; a log file must keep them all.
    throttle: 0,
    reporters: [{ log: (obj) => writeAll(fd, format(obj) + "\n") }],
  });
}
