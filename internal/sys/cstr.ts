/** The single place that turns JS strings into NUL-terminated C strings. */

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `s`, ready for a `ptr` argument. */
export function cstr(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Reads a NUL-terminated string out of `buf` starting at `offset`. */
export function readCstr(buf: Uint8Array, offset = 0): string {
  let end = offset;
  while (end < buf.length && buf[end] !== 0) end++;
  return new TextDecoder().decode(buf.subarray(offset, end));
}
