/**
 * Schema building blocks shared by the OCI schemas: objects that keep unknown
 * fields, optional fields that treat JSON `null` as absent (as Go's decoder
 * does), and integer types with the width of the Go field they mirror.
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

/**
 * An optional field. `null` counts as absent: Go's encoder writes it for nil
 * slices and maps in fields without `omitempty`, and runc accepts it.
 */
export function opt<const S extends v.GenericSchema>(schema: S) {
  return v.optional(v.pipe(v.nullable(schema), v.transform((x) => x ?? undefined)));
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

export const u16 = () => intRange(0, 0xffff);
export const u32 = () => intRange(0, 0xffff_ffff);
/** Go `int`/`int32` fields that are only ever small. */
export const int = () => intRange(-0x8000_0000, 0x7fff_ffff);
/**
 * uint64. JSON numbers above 2^53 lose precision when parsed; the only such
 * value seen in practice is RLIM_INFINITY (2^64-1), which parses as 2^64.
 * Use `toU64` to turn a parsed value into an exact bigint.
 */
export const u64 = () => intRange(0, 2 ** 64);
/** int64, with the same precision caveat as `u64` (-1 and small values are exact). */
export const i64 = () => intRange(-(2 ** 63), 2 ** 63);

export const str = () => v.string();
export const bool = () => v.boolean();
export const strs = () => v.array(v.string());
export const strMap = () => v.record(v.string(), v.string());

/** valibot prints objects as `Object`/`Array`; lower-case reads better after "got". */
export function received(text: string): string {
  if (text === "Object") return "object";
  if (text === "Array") return "array";
  return text;
}
