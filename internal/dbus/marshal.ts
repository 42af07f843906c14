/**
 * The D-Bus marshalling format (spec "Marshaling (Wire Format)"): values are
 * written back to back, each first padded with zero bytes to its alignment
 * counted from the start of the message. Pure code, no I/O.
 *
 * JavaScript values by type code:
 *   y n q i u h d -> number    x t -> bigint (numbers accepted when sending)
 *   b -> boolean              s o g -> string     v -> Variant
 *   a<T> -> array (ay also accepts a Uint8Array when sending)
 *   (..) -> array of the members    a{KV} -> array of [key, value] pairs
 *
 * Layouts (offsets relative to where the value starts after its padding):
 *
 *   s, o   0 u32 n | 4 n bytes of UTF-8 | 4+n NUL
 *   g      0 u8 n  | 1 n bytes of ASCII | 1+n NUL
 *   v      0 g (signature of one complete type) | pad to that type | value
 *   a<T>   0 u32 n (bytes of elements, not counting the pad after it)
 *          4 pad to T's alignment (even when n == 0) | elements, each padded
 *   (..)   members in order, the struct itself starting at a multiple of 8
 */
import { DBusProtocolError } from "./errors.ts";
import { ALIGNMENT, parseSignature, parseSingle, type TypeNode } from "./signature.ts";

/** A value with its own signature, for `v`. */
export class Variant {
  constructor(readonly signature: string, readonly value: DBusValue) {}
}

export type DBusValue = number | bigint | boolean | string | Variant | Uint8Array | DBusValue[];

/** The spec's limits: 64 MiB per array, 64 levels of containers including variants. */
export const MAX_ARRAY_LENGTH = 64 * 1024 * 1024;
export const MAX_DEPTH = 64;

const OBJECT_PATH = /^\/$|^(\/[A-Za-z0-9_]+)+$/;

export function isObjectPath(s: string): boolean {
  return OBJECT_PATH.test(s);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Variant) return `Variant(${v.signature})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function bad(node: TypeNode, v: unknown, why = ""): never {
  throw new DBusProtocolError(`cannot marshal ${describe(v)} as ${node.sig}${why ? `: ${why}` : ""}`);
}

const INT_RANGES: Record<string, [number, number]> = {
  y: [0, 0xff], n: [-0x8000, 0x7fff], q: [0, 0xffff], i: [-0x80000000, 0x7fffffff], u: [0, 0xffffffff], h: [0, 0xffffffff],
};
const BIG_RANGES: Record<string, [bigint, bigint]> = {
  x: [-(1n << 63n), (1n << 63n) - 1n], t: [0n, (1n << 64n) - 1n],
};

/** Growable little-endian output buffer whose offsets count from the message start. */
export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  align(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    this.ensure(pad);
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.align(4);
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Writes `values` by the complete types of `sig`. */
  writeAll(sig: string | TypeNode[], values: readonly DBusValue[]): void {
    const types = typeof sig === "string" ? parseSignature(sig) : sig;
    if (types.length !== values.length) {
      throw new DBusProtocolError(`signature ${JSON.stringify(types.map((t) => t.sig).join(""))} needs ${types.length} values, got ${values.length}`);
    }
    types.forEach((t, i) => this.write(t, values[i]!, 0));
  }

  write(node: TypeNode, v: DBusValue, depth: number): void {
    if (depth > MAX_DEPTH) bad(node, "…", `containers nested deeper than ${MAX_DEPTH}`);
    const c = node.code;
    switch (c) {
      case "y": case "n": case "q": case "i": case "u": case "h": {
        const [lo, hi] = INT_RANGES[c]!;
        if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) bad(node, v);
        this.align(ALIGNMENT[c]!);
        this.ensure(4);
        if (c === "y") this.buf[this.pos] = v;
        else if (c === "n") this.view.setInt16(this.pos, v, true);
        else if (c === "q") this.view.setUint16(this.pos, v, true);
        else if (c === "i") this.view.setInt32(this.pos, v, true);
        else this.view.setUint32(this.pos, v, true);
        this.pos += ALIGNMENT[c]!;
        return;
      }
      case "x": case "t": {
        const [lo, hi] = BIG_RANGES[c]!;
        let big: bigint;
        if (typeof v === "bigint") big = v;
        else if (typeof v === "number" && Number.isSafeInteger(v)) big = BigInt(v);
        else bad(node, v);
        if (big < lo || big > hi) bad(node, v, "out of range");
        this.align(8);
        this.ensure(8);
        if (c === "x") this.view.setBigInt64(this.pos, big, true);
        else this.view.setBigUint64(this.pos, big, true);
        this.pos += 8;
        return;
      }
      case "d":
        if (typeof v !== "number") bad(node, v);
        this.align(8);
        this.ensure(8);
        this.view.setFloat64(this.pos, v, true);
        this.pos += 8;
        return;
      case "b":
        if (typeof v !== "boolean") bad(node, v);
        this.u32(v ? 1 : 0);
        return;
      case "s": case "o": {
        if (typeof v !== "string") bad(node, v);
        if (v.includes("\0")) bad(node, v, "strings cannot hold NUL");
        if (c === "o" && !isObjectPath(v)) bad(node, v, "not a valid object path");
        const b = encoder.encode(v);
        this.u32(b.length);
        this.bytes(b);
        this.u8(0);
        return;
      }
      case "g": {
        if (typeof v !== "string") bad(node, v);
        parseSignature(v);
        this.u8(v.length);
        this.bytes(encoder.encode(v));
        this.u8(0);
        return;
      }
      case "v": {
        if (!(v instanceof Variant)) bad(node, v, "expected a Variant");
        const inner = parseSingle(v.signature);
        this.write({ code: "g", children: [], sig: "g" }, v.signature, depth);
        this.write(inner, v.value, depth + 1);
        return;
      }
      case "a": {
        const elem = node.children[0]!;
        const items: readonly DBusValue[] | Uint8Array = elem.code === "y" && v instanceof Uint8Array ? v : Array.isArray(v) ? v : bad(node, v);
        this.u32(0);
        const lenAt = this.pos - 4;
        this.align(ALIGNMENT[elem.code]!);
        const start = this.pos;
        if (items instanceof Uint8Array) this.bytes(items);
        else for (const item of items) this.write(elem, item, depth + 1);
        const len = this.pos - start;
        if (len > MAX_ARRAY_LENGTH) bad(node, `[${items.length} items]`, `array longer than ${MAX_ARRAY_LENGTH} bytes`);
        this.patchU32(lenAt, len);
        return;
      }
      case "(": case "{": {
        if (!Array.isArray(v) || v.length !== node.children.length) {
          bad(node, v, `expected an array of ${node.children.length} member${node.children.length === 1 ? "" : "s"}`);
        }
        this.align(8);
        node.children.forEach((child, i) => this.write(child, v[i]!, depth + 1));
        return;
      }
    }
    throw new DBusProtocolError(`unknown type code ${JSON.stringify(c)}`);
  }
}

/** Reads marshalled values from `buf`, whose offset 0 is the start of the message. */
export class Reader {
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly littleEndian: boolean,
    public pos = 0,
    private readonly end = buf.length,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new DBusProtocolError(`truncated: ${what} at offset ${this.pos} needs ${n} bytes, ${this.end - this.pos} left`);
  }

  align(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    this.need(pad, "padding");
    for (let i = 0; i < pad; i++) {
      if (this.buf[this.pos + i] !== 0) throw new DBusProtocolError(`non-zero padding at offset ${this.pos + i}`);
    }
    this.pos += pad;
  }

  u8(): number {
    this.need(1, "byte");
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.align(4);
    this.need(4, "uint32");
    const v = this.view.getUint32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }

  readAll(sig: string | TypeNode[]): DBusValue[] {
    const types = typeof sig === "string" ? parseSignature(sig) : sig;
    return types.map((t) => this.read(t, 0));
  }

  private text(n: number, what: string): string {
    this.need(n + 1, what);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    if (this.buf[this.pos + n] !== 0) throw new DBusProtocolError(`${what} at offset ${this.pos} is not NUL-terminated`);
    if (bytes.includes(0)) throw new DBusProtocolError(`${what} at offset ${this.pos} holds a NUL byte`);
    let s: string;
    try {
      s = decoder.decode(bytes);
    } catch {
      throw new DBusProtocolError(`${what} at offset ${this.pos} is not valid UTF-8`);
    }
    this.pos += n + 1;
    return s;
  }

  read(node: TypeNode, depth: number): DBusValue {
    if (depth > MAX_DEPTH) throw new DBusProtocolError(`containers nested deeper than ${MAX_DEPTH}`);
    const c = node.code;
    const le = this.littleEndian;
    switch (c) {
      case "y":
        return this.u8();
      case "n": case "q": {
        this.align(2);
        this.need(2, c);
        const v = c === "n" ? this.view.getInt16(this.pos, le) : this.view.getUint16(this.pos, le);
        this.pos += 2;
        return v;
      }
      case "i": {
        this.align(4);
        this.need(4, c);
        const v = this.view.getInt32(this.pos, le);
        this.pos += 4;
        return v;
      }
      case "u": case "h":
        return this.u32();
      case "b": {
        const v = this.u32();
        if (v > 1) throw new DBusProtocolError(`boolean at offset ${this.pos - 4} is ${v}, not 0 or 1`);
        return v === 1;
      }
      case "x": case "t": case "d": {
        this.align(8);
        this.need(8, c);
        const v = c === "x" ? this.view.getBigInt64(this.pos, le) : c === "t" ? this.view.getBigUint64(this.pos, le) : this.view.getFloat64(this.pos, le);
        this.pos += 8;
        return v;
      }
      case "s": case "o": {
        const n = this.u32();
        const s = this.text(n, c === "s" ? "string" : "object path");
        if (c === "o" && !isObjectPath(s)) throw new DBusProtocolError(`invalid object path ${JSON.stringify(s)}`);
        return s;
      }
      case "g": {
        const s = this.text(this.u8(), "signature");
        parseSignature(s);
        return s;
      }
      case "v": {
        const sig = this.text(this.u8(), "signature");
        return new Variant(sig, this.read(parseSingle(sig), depth + 1));
      }
      case "a": {
        const len = this.u32();
        if (len > MAX_ARRAY_LENGTH) throw new DBusProtocolError(`array of ${len} bytes exceeds ${MAX_ARRAY_LENGTH}`);
        const elem = node.children[0]!;
        this.align(ALIGNMENT[elem.code]!);
        const stop = this.pos + len;
        this.need(len, "array");
        const out: DBusValue[] = [];
        while (this.pos < stop) out.push(this.read(elem, depth + 1));
        if (this.pos !== stop) throw new DBusProtocolError(`array elements overrun the array's length at offset ${this.pos}`);
        return out;
      }
      case "(": case "{": {
        this.align(8);
        return node.children.map((child) => this.read(child, depth + 1));
      }
    }
    throw new DBusProtocolError(`unknown type code ${JSON.stringify(c)}`);
  }
}

/** Marshals `values` as a message body would be (starting at offset 0). */
export function marshal(sig: string, values: readonly DBusValue[]): Uint8Array {
  const w = new Writer();
  w.writeAll(sig, values);
  return w.finish();
}

/** Unmarshals a whole body; bytes left over are an error. */
export function unmarshal(sig: string, bytes: Uint8Array, opts: { littleEndian?: boolean } = {}): DBusValue[] {
  const r = new Reader(bytes, opts.littleEndian ?? true);
  const values = r.readAll(sig);
  if (r.pos !== bytes.length) throw new DBusProtocolError(`${bytes.length - r.pos} bytes left after the values of ${JSON.stringify(sig)}`);
  return values;
}
