import { describe, expect, it } from "vitest";
import { serverWaitMs, waitFromHeaderValue, waitRequestedBy } from "./retry-after.ts";

const now = Date.parse("2026-01-01T00:00:00Z");

describe("waitFromHeaderValue", () => {
  it.each([
    { name: "seconds", value: "12", want: 12_000 },
    { name: "fractional seconds", value: "1.5", want: 1500 },
    { name: "an HTTP date", value: "Thu, 01 Jan 2026 00:00:30 GMT", want: 30_000 },
    { name: "a past date", value: "Wed, 31 Dec 2025 23:00:00 GMT", want: 0 },
    { name: "an epoch time", value: String(now / 1000 + 9), want: 9_000 },
    { name: "the first of a repeated header", value: ["3", "8"], want: 3_000 },
    { name: "garbage", value: "soon", want: undefined },
    { name: "a negative number", value: "-5", want: undefined },
    { name: "nothing", value: undefined, want: undefined },
  ])("reads $name", ({ value, want }) => {
    expect(waitFromHeaderValue(value, now)).toBe(want);
  });
});

describe("serverWaitMs", () => {
  it.each([
    { name: "Retry-After", headers: { "retry-after": "3" }, want: 3_000 },
    { name: "Archivist-Rate-Limit-Reset", headers: { "archivist-rate-limit-reset": "7" }, want: 7_000 },
    {
      name: "the longer of both",
      headers: { "retry-after": "2", "archivist-rate-limit-reset": "5" },
      want: 5_000,
    },
    { name: "no headers object", headers: undefined, want: undefined },
    { name: "neither header", headers: { "content-type": "application/json" }, want: undefined },
  ])("reads $name", ({ headers, want }) => {
    expect(serverWaitMs(headers, now)).toBe(want);
  });
});

describe("waitRequestedBy", () => {
  it.each([
    { status: 429, want: 4_000 },
    { status: 503, want: 4_000 },
    { status: 500, want: undefined },
    { status: 200, want: undefined },
  ])("reads the headers of a $status answer as $want", ({ status, want }) => {
    expect(waitRequestedBy(status, { "retry-after": "4" }, now)).toBe(want);
  });
});
