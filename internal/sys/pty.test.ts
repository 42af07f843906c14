import { describe, expect, test } from "bun:test";
import { makeRaw } from "./pty.ts";

function termios(iflag: number, oflag: number, cflag: number, lflag: number): Uint8Array {
  const t = new Uint8Array(36);
  const v = new DataView(t.buffer);
  [iflag, oflag, cflag, lflag].forEach((x, i) => v.setUint32(4 * i, x, true));
  return t;
}

describe("makeRaw", () => {
  test("matches cfmakeraw on Linux's default tty settings", () => {
    // stty sane on a fresh pty: iflag ICRNL|IXON|IUTF8, oflag OPOST|ONLCR, cflag CS8|CREAD|B38400, lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN
    const sane = termios(0o42400, 0o5, 0o277, 0o105073);
    sane[17 + 6] = 0;
    const raw = makeRaw(sane);
    const v = new DataView(raw.buffer);
    expect(v.getUint32(0, true)).toBe(0o40000); // IUTF8 survives
    expect(v.getUint32(4, true)).toBe(0o4); // ONLCR stays, but without OPOST it is inert
    expect(v.getUint32(8, true)).toBe(0o277);
    expect(v.getUint32(12, true)).toBe(0o5060); // ECHOE|ECHOK|ECHOCTL|ECHOKE
    expect([raw[17 + 5], raw[17 + 6]]).toEqual([0, 1]);
  });

  test("forces 8-bit characters and clears parity", () => {
    const v = new DataView(makeRaw(termios(0, 0, 0o420, 0)).buffer);
    expect(v.getUint32(8, true)).toBe(0o60);
  });
});
