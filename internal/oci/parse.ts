/**
 * Turning JSON text into checked OCI objects. Every failure is a
 * `ConfigError` whose message names the source and the field path:
 * `config.json: linux.namespaces[2].type: expected one of pid|..., got "bogus"`.
 */
import * as v from "valibot";
import { findJsonSyntaxError } from "./_json.ts";
import { dropNulls, received } from "./_schema.ts";
import {
  LinuxResourcesSchema,
  ProcessSchema,
  SpecSchema,
  type LinuxResources,
  type Process,
  type Spec,
} from "./config.ts";
import { ContainerProcessStateSchema, StateSchema, type ContainerProcessState, type State } from "./state.ts";

export interface ConfigIssue {
  /** Field path such as `linux.namespaces[2].type`; "" for the document itself. */
  path: string;
  detail: string;
}

/** A config document that is not valid JSON or does not match the OCI schema. */
export class ConfigError extends Error {
  readonly source: string;
  readonly path: string;
  readonly detail: string;
  /** Every problem found; the message shows the first. */
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly [ConfigIssue, ...ConfigIssue[]]) {
    const [first] = issues;
    super(first.path ? `${source}: ${first.path}: ${first.detail}` : `${source}: ${first.detail}`);
    this.name = "ConfigError";
    this.source = source;
    this.path = first.path;
    this.detail = first.detail;
    this.issues = issues;
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** `["linux", "namespaces", 2, "type"]` -> `linux.namespaces[2].type`. */
export function formatPath(keys: readonly unknown[]): string {
  let out = "";
  for (const key of keys) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && IDENT.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** Fallback text for issues whose schema sets no message of its own. */
function describe(issue: v.BaseIssue<unknown>): string {
  // A missing required key: valibot reports the key name as `expected`.
  if (issue.kind === "schema" && issue.received === "undefined" && issue.expected?.startsWith('"')) {
    return "required field is missing";
  }
  const expected = issue.expected === null ? issue.type : received(issue.expected);
  return `expected ${expected}, got ${received(issue.received)}`;
}

/**
 * Checks an already-parsed value against `schema`; throws `ConfigError`.
 * Object properties set to `null` count as absent, as in Go.
 * `prefix` holds the keys of `input` inside its document, e.g.
 * `["linux", "seccomp"]`, so paths in errors stay absolute.
 */
export function validate<const S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  options: { source: string; prefix?: readonly (string | number)[] },
): v.InferOutput<S> {
  const result = v.safeParse(schema, dropNulls(input), { message: describe });
  if (result.success) return result.output;
  const prefix = options.prefix ?? [];
  const issues = result.issues.map((issue) => ({
    path: formatPath([...prefix, ...(issue.path ?? []).map((p) => p.key)]),
    detail: issue.message,
  }));
  throw new ConfigError(options.source, issues as [ConfigIssue, ...ConfigIssue[]]);
}

/** `JSON.parse` with a positioned `ConfigError` on bad syntax. */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const where = findJsonSyntaxError(text);
    const detail = where
      ? `invalid JSON at position ${where.offset} (line ${where.line}, column ${where.column}): ${where.reason}`
      : `invalid JSON: ${e.message}`;
    throw new ConfigError(source, [{ path: "", detail }]);
  }
}

/** Parses a bundle's config.json. */
export function parseConfig(text: string, source = "config.json"): Spec {
  return validate(SpecSchema, parseJson(text, source), { source });
}

/** Parses the process JSON of `exec --process FILE`. */
export function parseProcess(text: string, source = "process.json"): Process {
  return validate(ProcessSchema, parseJson(text, source), { source });
}

/** Parses the `LinuxResources` JSON of `update --resources FILE|-`. */
export function parseResources(text: string, source = "resources"): LinuxResources {
  return validate(LinuxResourcesSchema, parseJson(text, source), { source });
}

/** Parses an OCI state object (hook stdin, `state` output). */
export function parseState(text: string, source = "state"): State {
  return validate(StateSchema, parseJson(text, source), { source });
}

/** Parses the container-process state sent to a seccomp listener. */
export function parseContainerProcessState(text: string, source = "container process state"): ContainerProcessState {
  return validate(ContainerProcessStateSchema, parseJson(text, source), { source });
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

/**
 * A parsed uint64 field as an exact bigint. JSON numbers >= 2^53 arrive
 * rounded; 2^64 (what 18446744073709551615 parses to) maps back to 2^64-1.
 */
export function toU64(n: number): bigint {
  const b = BigInt(n);
  return b > U64_MAX ? U64_MAX : b;
}

/** A parsed int64 field as a bigint; 2^63 (rounded INT64_MAX) maps to 2^63-1. */
export function toI64(n: number): bigint {
  const b = BigInt(n);
  return b > I64_MAX ? I64_MAX : b;
}
