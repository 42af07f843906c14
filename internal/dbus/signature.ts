/**
 * D-Bus type signatures ("ssa(sv)a(sa(sv))") parsed into type trees, with the
 * spec's limits: at most 255 bytes, 32 levels of array and 32 of struct
 * nesting, dict entries only as array elements and keyed by a basic type.
 */
import { DBusProtocolError } from "./errors.ts";

/** Single-character types that are not containers. */
export const BASIC_CODES = "ybnqiuxtdsogh";

/**
 * Alignment of each type's marshalled form, relative to the start of the
 * message. Arrays align their length (4) and then their first element.
 */
export const ALIGNMENT: Record<string, number> = {
  y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4,
  s: 4, o: 4, g: 1, v: 1, a: 4, "(": 8, "{": 8,
};

export const MAX_SIGNATURE_LENGTH = 255;
export const MAX_NESTING = 32;

export interface TypeNode {
  /** "y".."h", "v", "a", "(" (struct) or "{" (dict entry). */
  code: string;
  /** Element type of "a"; members of "(" and "{". */
  children: TypeNode[];
  /** This complete type's own signature, e.g. "a(sv)". */
  sig: string;
}

const cache = new Map<string, TypeNode[]>();

/** Parses a signature into its complete types; "" is no types. */
export function parseSignature(sig: string): TypeNode[] {
  const hit = cache.get(sig);
  if (hit) return hit;
  if (sig.length > MAX_SIGNATURE_LENGTH) throw new DBusProtocolError(`signature longer than ${MAX_SIGNATURE_LENGTH} bytes`);
  const out: TypeNode[] = [];
  let pos = 0;
  while (pos < sig.length) {
    const [node, next] = parseOne(sig, pos, 0, 0);
    out.push(node);
    pos = next;
  }
  if (cache.size < 256) cache.set(sig, out);
  return out;
}

/** Parses a signature that must hold exactly one complete type (a variant's). */
export function parseSingle(sig: string): TypeNode {
  const types = parseSignature(sig);
  if (types.length !== 1) throw new DBusProtocolError(`signature ${JSON.stringify(sig)} is not a single complete type`);
  return types[0]!;
}

function parseOne(sig: string, start: number, arrays: number, structs: number): [TypeNode, number] {
  const c = sig[start];
  if (c === undefined) throw new DBusProtocolError(`signature ${JSON.stringify(sig)} ends inside a container`);
  if (BASIC_CODES.includes(c) || c === "v") return [{ code: c, children: [], sig: c }, start + 1];
  if (c === "a") {
    if (arrays + 1 > MAX_NESTING) throw new DBusProtocolError(`signature ${JSON.stringify(sig)} nests arrays deeper than ${MAX_NESTING}`);
    if (sig[start + 1] === "{") {
      const [entry, next] = parseDictEntry(sig, start + 1, arrays + 1, structs);
      return [{ code: "a", children: [entry], sig: sig.slice(start, next) }, next];
    }
    const [elem, next] = parseOne(sig, start + 1, arrays + 1, structs);
    return [{ code: "a", children: [elem], sig: sig.slice(start, next) }, next];
  }
  if (c === "(") {
    if (structs + 1 > MAX_NESTING) throw new DBusProtocolError(`signature ${JSON.stringify(sig)} nests structs deeper than ${MAX_NESTING}`);
    const children: TypeNode[] = [];
    let pos = start + 1;
    while (sig[pos] !== ")") {
      if (pos >= sig.length) throw new DBusProtocolError(`signature ${JSON.stringify(sig)} has an unclosed struct`);
      const [child, next] = parseOne(sig, pos, arrays, structs + 1);
      children.push(child);
      pos = next;
    }
    if (children.length === 0) throw new DBusProtocolError(`signature ${JSON.stringify(sig)} has an empty struct`);
    return [{ code: "(", children, sig: sig.slice(start, pos + 1) }, pos + 1];
  }
  throw new DBusProtocolError(`signature ${JSON.stringify(sig)}: unexpected ${JSON.stringify(c)} at ${start}`);
}

function parseDictEntry(sig: string, start: number, arrays: number, structs: number): [TypeNode, number] {
  if (structs + 1 > MAX_NESTING) throw new DBusProtocolError(`signature ${JSON.stringify(sig)} nests structs deeper than ${MAX_NESTING}`);
  const key = sig[start + 1];
  if (key === undefined || !BASIC_CODES.includes(key)) {
    throw new DBusProtocolError(`signature ${JSON.stringify(sig)}: a dict entry key must be a basic type`);
  }
  const [value, next] = parseOne(sig, start + 2, arrays, structs + 1);
  if (sig[next] !== "}") throw new DBusProtocolError(`signature ${JSON.stringify(sig)}: a dict entry holds exactly two types`);
  const keyNode = { code: key, children: [], sig: key };
  return [{ code: "{", children: [keyNode, value], sig: sig.slice(start, next + 1) }, next + 1];
}
