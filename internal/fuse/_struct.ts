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

  // One reader and one writer per field, chosen once here: a request is decoded
  // and a reply encoded for every FUSE round trip. u64 as two u32 halves: no
  // BigInt is made for a number.
  type Get = (view: DataView, at: number) => number | bigint;
  type Set = (view: DataView, at: number, v: number | bigint) => void;
  const TWO32 = 0x1_0000_0000;
  const getters: Record<FieldType, Get | undefined> = {
    u16: (view, at) => view.getUint16(at, true),
    u32: (view, at) => view.getUint32(at, true),
    i32: (view, at) => view.getInt32(at, true),
    u64: (view, at) => {
      const hi = view.getUint32(at + 4, true);
      if (hi > 0x1f_ffff) throw new RangeError(`${name}: ${view.getBigUint64(at, true)} exceeds 2^53`);
      return hi * TWO32 + view.getUint32(at, true);
    },
    u64n: (view, at) => view.getBigUint64(at, true),
    i64: (view, at) => Number(view.getBigInt64(at, true)),
    pad16: undefined,
    pad32: undefined,
    pad64: undefined,
  };
  const setters: Record<FieldType, Set> = {
    u16: (view, at, v) => view.setUint16(at, Number(v), true),
    u32: (view, at, v) => view.setUint32(at, Number(v) >>> 0, true),
    i32: (view, at, v) => view.setInt32(at, Number(v), true),
    u64: (view, at, v) => {
      if (typeof v === "number" && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
        view.setUint32(at, v % TWO32, true);
        view.setUint32(at + 4, Math.floor(v / TWO32), true);
      } else view.setBigUint64(at, BigInt(v), true);
    },
    u64n: (view, at, v) => view.setBigUint64(at, BigInt(v), true),
    i64: (view, at, v) => view.setBigInt64(at, BigInt(v), true),
    pad16: (view, at) => view.setUint16(at, 0, true),
    pad32: (view, at) => view.setUint32(at, 0, true),
    pad64: (view, at) => {
      view.setUint32(at, 0, true);
      view.setUint32(at + 4, 0, true);
    },
  };
  const readers = layout.flatMap((f) => {
    const get = getters[f.type];
    return get ? [{ name: f.name, offset: f.offset, get }] : [];
  });
  const writers = layout.map((f) => ({ name: f.name, offset: f.offset, set: setters[f.type] }));

  const write = (view: DataView, base: number, value: Partial<V>): void => {
    const rec = value as Record<string, number | bigint | undefined>;
    for (const f of writers) f.set(view, base + f.offset, rec[f.name] ?? 0);
  };

  const read = (view: DataView, base: number): V => {
    if (base < 0 || base + size > view.byteLength) {
      throw new RangeError(`${name}: need ${size} bytes at offset ${base}, have ${view.byteLength - base}`);
    }
    const out: Record<string, number | bigint> = {};
    for (const f of readers) out[f.name] = f.get(view, base + f.offset);
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
