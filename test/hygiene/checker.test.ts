/**
 * The hygiene checker itself can fail: each kind of leak it claims to catch is caught, and clean
 * text passes. (Every operator test environment runs it when it stops.)
 */
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, inject, it } from "vitest";
import { findLeaks } from "../support/hygiene.ts";

const kc = new KubeConfig();
kc.loadFromFile(inject("kubeconfigPath"));
const secret = "3f1c9a0b7d2e4f6a8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a";
const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmNkZWZnaCJ9.c2lnbmF0dXJlc2lnbmF0dXJl";

describe("findLeaks", () => {
  it.each([
    ["a DataTrails secret in a log line", [`{"msg":"created","secret":"${secret}"}`], "", "a 64-hex secret"],
    ["a JWT in a log line", [`{"msg":"token ${token}"}`], "", "a JWT"],
    ["a JWT in the metrics", [], `datatrails_x{token="${token}"} 1`, "a JWT"],
  ])("catches %s", async (_name, logs, metrics, what) => {
    const leaks = await findLeaks(kc, [], logs, metrics);
    expect(leaks.map((l) => l.what)).toContain(what);
  });

  it("catches a known secret value whatever its shape", async () => {
    const leaks = await findLeaks(kc, [], ['{"err":"bad client p4ssw0rd-of-some-length"}'], "", [
      "p4ssw0rd-of-some-length",
    ]);
    expect(leaks).toEqual([{ where: "log line 1", what: "a value of a Secret (23 chars)" }]);
  });

  it("passes client IDs, identities and times", async () => {
    const logs = [
      '{"clientId":"d1fb6c87-faa9-4d56-b2fd-a5b70a9af065","identity":"applications/d1fb6c87","expiresAt":"2026-01-01T00:00:00Z"}',
    ];
    expect(await findLeaks(kc, [], logs)).toEqual([]);
  });
});
