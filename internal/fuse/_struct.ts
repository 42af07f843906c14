/**
 * A tiny fixed-layout struct helper for codec.ts: fields in order, each a
 * little-endian integer, offsets computed once. `u64` reads as a number and
 * refuses values above 2^53 (ids, sizes and offsets we handed out); `u64n`
 * stays a bigint (lock owners, unique ids, capability masks).
 */

export type FieldType = "u16" | "u32" | "i32" | "u64" | "u64n" | "i64" | "pad16" | "pad32" | "pad64";

type Value<T extends FieldType> = T extends "u64n" ? bigint : number;
type Padding = "pad16" | "pad32" | "pad64";

export type StructValue<F extends readonly (readonly [string, FieldType])[]> = {
  [E in F[number] as E[1] extends Padding ? never : E[0]]: Value<E[1]>;
};

const WIDTH: Record<FieldType, number> = {
  u16: 2, u32: 4, i32: 4, u64: 8, u64n: 8, i64: 8, pad16: 2, pad32: 4, pad64: 8,
};

export interface Struct<V> {
  readonly name: string;
  readonly size: number;
  /** Byte offset of each named field. */
  readonly offsets: Readonly<Record<string, number>>;
  /** Writes `value` at `offset` of `view`; missing fields are zero. */
  write(view: DataView, offset: number, value: Partial<V>): void;
  /** Reads one struct at `offset`; throws RangeError if `view` is too short. */
  read(view: DataView, offset: number): V;
  /** A fresh buffer holding just this struct. */
  encode(value: Partial<V>): Uint8Array;
  decode(bytes: Uint8Array, offset?: number): V;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function defineStruct<const F extends readonly (readonly [string, FieldType])[]>(
  name: string,
  fields: F,
): Struct<StructValue<F>> {
  type V = StructValue<F>;
  const layout: { name: string; type: FieldType; offset: number }[] = [];
  let size = 0;
  for (const [fname, type] of fields) {
    layout.push({ name: fname, type, offset: size });
    size += WIDTH[type];
  }
  const offsets = Object.fromEntries(layout.filter((f) => !f.type.startsWith("pad")).map((f) => [f.name, f.offset]));

  const write = (view: DataView, base: number, value: Partial<V>): void => {
    const rec = value as Record<string, number | bigint | undefined>;
    for (const f of layout) {
      const at = base + f.offset;
      const v = rec[f.name] ?? 0;
      switch (f.type) {
        case "u16":
          view.setUint16(at, Number(v), true);
          break;
        case "u32":
          view.setUint32(at, Number(v) >>> 0, true);
          break;
        case "i32":
          view.setInt32(at, Number(v), true);
          break;
        case "u64":
        case "u64n":
          view.setBigUint64(at, BigInt(v), true);
          break;
        case "i64":
          view.setBigInt64(at, BigInt(v), true);
          break;
        case "pad16":
          view.setUint16(at, 0, true);
          break;
        case "pad32":
          view.setUint32(at, 0, true);
          break;
        case "pad64":
          view.setBigUint64(at, 0n, true);
          break;
      }
    }
  };

  const read = (view: DataView, base: number): V => {
    if (base < 0 || base + size > view.byteLength) {
      throw new RangeError(`${name}: need ${size} bytes at offset ${base}, have ${view.byteLength - base}`);
    }
    const out: Record<string, number | bigint> = {};
    for (const f of layout) {
      const at = base + f.offset;
      switch (f.type) {
        case "u16":
          out[f.name] = view.getUint16(at, true);
          break;
        case "u32":
          out[f.name] = view.getUint32(at, true);
          break;
        case "i32":
          out[f.name] = view.getInt32(at, true);
          break;
        case "u64": {
          const big = view.getBigUint64(at, true);
          if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${name}.${f.name}: ${big} exceeds 2^53`);
          out[f.name] = Number(big);
          break;
        }
        case "u64n":
          out[f.name] = view.getBigUint64(at, true);
          break;
        case "i64":
          out[f.name] = Number(view.getBigInt64(at, true));
          break;
        default:
          break;
      }
    }
    return out as V;
  };

  return {
    name,
    size,
    offsets,
    write,
    read,
    encode(value) {
      const bytes = new Uint8Array(size);
      write(viewOf(bytes), 0, value);
      return bytes;
    },
    decode(bytes, offset = 0) {
      return read(viewOf(bytes), offset);
    },
  };
}
