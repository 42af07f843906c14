/**
 * Schema building blocks shared by the OCI schemas: objects that keep unknown
 * fields, closed string sets, and integer types with the width of the Go
 * field they mirror. Leaf schemas are single shared instances (valibot
 * schemas are immutable): building config.json's schema runs on every
 * runtime invocation, and each construction costs microseconds.
 */
import * as v from "valibot";

/** A JSON object (not an array), keeping fields the schema does not name. */
export function obj<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    v.custom<Record<string, unknown>>(
      (x) => typeof x === "object" && x !== null && !Array.isArray(x),
      (issue) => `expected object, got ${received(issue.received)}`,
    ),
    v.looseObject(entries),
  );
}

/** An optional field. (`null` never reaches a schema: see `dropNulls`.) */
export const opt = v.optional;

/**
 * A copy of `value` without the object properties whose value is `null`.
 * Go's decoder treats `null` as "absent" for any field, and Go's encoder
 * writes it for nil slices and maps in fields without `omitempty`, so runc
 * accepts it everywhere; the schemas then only see absent fields. `null`
 * array elements are kept (and rejected by the element schema).
 */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) if (x !== null) out[k] = dropNulls(x);
  return out;
}

/** One of a closed set of strings, with the error text `expected one of a|b, got "c"`. */
export function oneOf<const T extends readonly [string, ...string[]]>(options: T) {
  return v.picklist(options, (issue) => `expected one of ${options.join("|")}, got ${received(issue.received)}`);
}

const intMessage = (issue: v.BaseIssue<unknown>) => `expected an integer, got ${issue.received}`;

function intRange(min: number, max: number) {
  return v.pipe(
    v.number(),
    v.integer(intMessage),
    v.minValue(min, (issue) => `expected an integer >= ${min}, got ${issue.received}`),
    v.maxValue(max, (issue) => `expected an integer <= ${max}, got ${issue.received}`),
  );
}

const U16 = intRange(0, 0xffff);
const U32 = intRange(0, 0xffff_ffff);
const INT = intRange(-0x8000_0000, 0x7fff_ffff);
const U64 = intRange(0, 2 ** 64);
const I64 = intRange(-(2 ** 63), 2 ** 63);
const STR = v.string();
const BOOL = v.boolean();
const STRS = v.array(STR);
const STR_MAP = v.record(STR, STR);

export const u16 = () => U16;
export const u32 = () => U32;
/** Go `int`/`int32` fields that are only ever small. */
export const int = () => INT;
/**
 * uint64. JSON numbers above 2^53 lose precision when parsed; the only such
 * value seen in practice is RLIM_INFINITY (2^64-1), which parses as 2^64.
 * Use `toU64` to turn a parsed value into an exact bigint.
 */
export const u64 = () => U64;
/** int64, with the same precision caveat as `u64` (-1 and small values are exact). */
export const i64 = () => I64;

export const str = () => STR;
export const bool = () => BOOL;
export const strs = () => STRS;
export const strMap = () => STR_MAP;

/** valibot prints objects as `Object`/`Array`; lower-case reads better after "got". */
export function received(text: string): string {
  if (text === "Object") return "object";
  if (text === "Array") return "array";
  return text;
}
