import { describe, expect, it } from "vitest";
import { eventKey, truncateUtf8, type EventInput } from "./events.ts";

const event = (over: Partial<EventInput> = {}): EventInput => ({
  type: "Warning",
  reason: "TokenRefreshFailed",
  action: "Refresh",
  note: "issuer answered 503",
  ...over,
});
const obj = {
  apiVersion: "datatrails.ai/v1alpha1",
  kind: "BearerToken",
  metadata: { name: "t", namespace: "a", uid: "u-1" },
};

describe("eventKey", () => {
  it.each([
    { name: "the same event", other: event(), same: true },
    { name: "another note", other: event({ note: "issuer answered 500" }), same: false },
    { name: "another reason", other: event({ reason: "TokenRefreshed" }), same: false },
    { name: "another type", other: event({ type: "Normal" }), same: false },
    { name: "another action", other: event({ action: "Verify" }), same: false },
  ])("$name → same series: $same", ({ other, same }) => {
    expect(eventKey(obj, event()) === eventKey(obj, other)).toBe(same);
  });

  it("tells objects apart by uid, or by kind/namespace/name without one", () => {
    expect(eventKey(obj, event())).not.toBe(
      eventKey({ ...obj, metadata: { ...obj.metadata, uid: "u-2" } }, event()),
    );
    const noUid = (name: string) => ({ kind: "Secret", metadata: { name, namespace: "a" } });
    expect(eventKey(noUid("x"), event())).not.toBe(eventKey(noUid("y"), event()));
  });
});

describe("truncateUtf8", () => {
  it.each([
    { name: "short text unchanged", text: "hello", max: 1024, expected: "hello" },
    { name: "ASCII cut with an ellipsis", text: "a".repeat(2000), max: 10, expected: "aaaaaaa..." },
    { name: "never splits a multi-byte character", text: "é".repeat(10), max: 8, expected: "éé..." },
  ])("$name", ({ text, max, expected }) => {
    const out = truncateUtf8(text, max);
    expect(out).toBe(expected);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(max);
  });
});
