import { describe, expect, test } from "bun:test";
import { consoleMode, consolePair, receiveMaster } from "./foreground.ts";
import { close, getCloexec, pipe2 } from "../sys/fs.ts";
import { sendFds } from "../sys/socket.ts";

describe("consoleMode: runc's checkTerminal", () => {
  const cases: Array<[boolean, string | undefined, boolean, string]> = [
    [true, undefined, false, "foreground"],
    [true, "/s", true, "socket"],
    [false, undefined, false, "none"],
    [false, undefined, true, "none"],
    [true, undefined, true, "cannot allocate tty if runc will detach without setting console socket"],
    [false, "/s", true, "cannot use console socket if runc will not detach or allocate tty"],
    [true, "/s", false, "cannot use console socket if runc will not detach or allocate tty"],
  ];
  for (const [terminal, sock, detach, want] of cases) {
    test(`terminal=${terminal} socket=${sock ?? "-"} detach=${detach}: ${want}`, () => {
      if (want.includes(" ")) expect(() => consoleMode(terminal, sock, detach)).toThrow(want);
      else expect(consoleMode(terminal, sock, detach)).toBe(want as ReturnType<typeof consoleMode>);
    });
  }
});

describe("consolePair and receiveMaster", () => {
  test("the init end is inherited, ours is not; an fd sent on the init end is received", () => {
    const { ours, init } = consolePair();
    const [r, w] = pipe2();
    try {
      expect(getCloexec(ours)).toBe(true);
      expect(getCloexec(init)).toBe(false);
      sendFds(init, [r], new TextEncoder().encode("/dev/ptmx"));
      const got = receiveMaster(ours);
      expect(got).toBeGreaterThan(2);
      close(got);
    } finally {
      for (const fd of [ours, init, r, w]) close(fd);
    }
  });

  test("an init that exits without sending one is an error, not a hang", () => {
    const { ours, init } = consolePair();
    close(init);
    try {
      expect(() => receiveMaster(ours)).toThrow("the container's init sent no pty master");
    } finally {
      close(ours);
    }
  });
});
