/**
 * Logging for the three executables through consola. With `format: "json"`
 * each line is what runc writes (logrus): {"level","msg","time"}, with an
 * RFC3339 time; containerd shows users the msg of the last "error" line.
 */
import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import { appendFileSync } from "node:fs";
import { format } from "node:util";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

export interface LogOptions {
  file?: string;
  format: LogFormat;
  level: LogLevel;
}

/** consola's numeric levels for our names. */
const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 3, debug: 4 };

/** logrus level names, which is what runc's JSON lines carry. */
function logrusLevel(type: string): string {
  if (type === "warn") return "warning";
  if (type === "fatal" || type === "error") return "error";
  if (type === "debug" || type === "trace" || type === "verbose") return "debug";
  return "info";
}

/** RFC3339 with seconds and a Z, like Go's time.RFC3339 in UTC. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function jsonLine(obj: Pick<LogObject, "type" | "args" | "date">): string {
  return JSON.stringify({ level: logrusLevel(obj.type), msg: format(...(obj.args as unknown[])), time: rfc3339(obj.date) }) + "\n";
}

function textLine(obj: Pick<LogObject, "type" | "args" | "date" | "tag">): string {
  const tag = obj.tag ? `[${obj.tag}] ` : "";
  return `${rfc3339(obj.date)} ${logrusLevel(obj.type).toUpperCase().padEnd(7)} ${tag}${format(...(obj.args as unknown[]))}\n`;
}

export function setupLogging(opts: LogOptions): ConsolaInstance {
  const write = opts.file ? (s: string) => appendFileSync(opts.file!, s) : (s: string) => process.stderr.write(s);
  const render = opts.format === "json" ? jsonLine : textLine;
  return createConsola({
    level: LEVELS[opts.level],
    reporters: [{ log: (obj) => write(render(obj)) }],
  });
}
