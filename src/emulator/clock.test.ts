import { describe, expect, it } from "vitest";
import { offsetClock, plusOneYear, rfc3339Seconds } from "./clock.ts";

describe("the emulator clock", () => {
  it("adds its offset to real time", () => {
    const clock = offsetClock(() => 1_000);
    clock.advance(500);
    clock.advance(250);
    expect(clock.now()).toBe(1_750);
    clock.setOffsetMs(-1_000);
    expect([clock.now(), clock.offsetMs()]).toEqual([0, -1_000]);
  });

  it.each([
    ["2021-09-21T16:43:19.999Z", "2021-09-21T16:43:19Z", "2022-09-21T16:43:19Z"],
    ["2024-02-29T00:00:00.000Z", "2024-02-29T00:00:00Z", "2025-03-01T00:00:00Z"],
  ])("writes %s in whole seconds and adds a calendar year", (iso, written, nextYear) => {
    const ms = Date.parse(iso);
    expect(rfc3339Seconds(ms)).toBe(written);
    expect(rfc3339Seconds(plusOneYear(ms))).toBe(nextYear);
  });
});
