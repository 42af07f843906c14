import { expect, test } from "bun:test";
import { parseSignal } from "./proc.ts";

test.each([
  ["0", 0], ["9", 9], ["KILL", 9], ["SIGKILL", 9], ["sigterm", 15], ["HUP", 1], ["SIGRTMIN+3", 37], ["RTMIN", 34], ["SIGRTMAX", 64],
])("%s is %d", (s, n) => expect(parseSignal(s)).toBe(n));

test("unknown names and out-of-range numbers are errors", () => {
  expect(() => parseSignal("NOPE")).toThrow(`unknown signal "NOPE"`);
  expect(() => parseSignal("99")).toThrow(/Invalid signal/);
});
