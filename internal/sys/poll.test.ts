import { describe, expect, test } from "bun:test";
import { encodePollfd, pollFd, pollFds, POLL } from "./poll.ts";
import { socketpair, send } from "./socket.ts";
import { close } from "./fs.ts";

describe("poll", () => {
  test("struct pollfd: fd, events, zeroed revents", () => {
    expect(Buffer.from(encodePollfd(7, POLL.IN | POLL.PRI)).toString("hex")).toBe("07000000" + "0300" + "0000");
  });

  test("times out with 0, reports readable and hang-up", () => {
    const [a, b] = socketpair();
    try {
      const t0 = performance.now();
      expect(pollFd(a, POLL.IN, 30)).toBe(0);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
      send(b, new Uint8Array([1]));
      expect(pollFd(a, POLL.IN, 1000) & POLL.IN).toBe(POLL.IN);
      close(b);
      expect(pollFd(a, POLL.IN, 1000) & POLL.HUP).toBe(POLL.HUP);
    } finally {
      close(a);
    }
  });
});

describe("pollFds", () => {
  test("reports each fd's events in order", () => {
    const [a, b] = socketpair();
    const [c, d] = socketpair();
    try {
      expect(pollFds([{ fd: a, events: POLL.IN }, { fd: c, events: POLL.IN }], 0)).toEqual([0, 0]);
      send(d, new Uint8Array([1]));
      expect(pollFds([{ fd: a, events: POLL.IN }, { fd: c, events: POLL.IN }], 1000)).toEqual([0, POLL.IN]);
    } finally {
      for (const fd of [a, b, c, d]) close(fd);
    }
  });
});
