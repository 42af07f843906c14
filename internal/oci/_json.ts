/**
 * Finds where a JSON text stops being valid (RFC 8259). Only run after
 * `JSON.parse` has failed: Bun's parse errors carry no position.
 */

export interface JsonSyntaxError {
  /** 0-based UTF-16 offset of the offending character (text.length at end of input). */
  offset: number;
  line: number;
  column: number;
  reason: string;
}

const MAX_DEPTH = 10_000;

class Stop {
  constructor(readonly offset: number, readonly reason: string) {}
}

/** The first syntax error in `text`, or null if it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;

  const describe = (at: number) =>
    at >= text.length ? "unexpected end of input" : `unexpected character ${JSON.stringify(text[at])}`;
  const fail = (at: number, reason = describe(at)): never => {
    throw new Stop(at, reason);
  };
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) fail(i + k);
    i += word.length;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail(i, "unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) fail(i, "control character in string");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail(i, "invalid \\u escape");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          fail(i + 1, "invalid escape");
        }
      } else {
        i++;
      }
    }
  };
  const digits = () => {
    const start = i;
    while (i < text.length && text[i]! >= "0" && text[i]! <= "9") i++;
    if (i === start) fail(i);
  };
  const number = () => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else digits();
    if (text[i] === ".") {
      i++;
      digits();
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      digits();
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail(i, "nesting too deep");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail(i, `${describe(i)}, expected a property name`);
        string();
        ws();
        if (text[i] !== ":") fail(i, `${describe(i)}, expected ':'`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") return void i++;
        fail(i, `${describe(i)}, expected ',' or '}'`);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") return void i++;
        fail(i, `${describe(i)}, expected ',' or ']'`);
      }
    }
    if (c === '"') return string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    fail(i);
  };

  try {
    value(0);
    ws();
    if (i < text.length) fail(i, `${describe(i)} after the end of the value`);
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.offset);
    const line = before.split("\n").length;
    const column = e.offset - (before.lastIndexOf("\n") + 1) + 1;
    return { offset: e.offset, line, column, reason: e.reason };
  }
}
