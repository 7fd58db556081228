import { describe, expect, it } from "vitest";
import { integrationCredentialsVersion, reloadAnnotationKey, tokenCredentialsVersion } from "./version.ts";
import { tokenSecretContent } from "../token/secret.ts";

const status = {
  clientId: "client-1",
  secretValidUntil: "2026-03-01T00:00:00Z",
  secretRotatedAt: "2025-03-01T00:00:00Z",
};

describe("integrationCredentialsVersion", () => {
  it("is a short digest that changes with a new secret, never the secret", () => {
    const v = integrationCredentialsVersion(status);
    expect(v).toMatch(/^[0-9a-f]{16}$/);
    expect(integrationCredentialsVersion({ ...status })).toBe(v);
    expect(integrationCredentialsVersion({ ...status, secretValidUntil: "2026-03-02T00:00:00Z" })).not.toBe(
      v,
    );
    expect(integrationCredentialsVersion({ ...status, clientId: "client-2" })).not.toBe(v);
  });

  it.each([
    { name: "no credentials yet", s: {} },
    { name: "a create in flight", s: { ...status, pendingCreate: { startedAt: "x" } } },
    { name: "a rotation in flight", s: { ...status, pendingRotation: { startedAt: "x" } } },
  ])("is undefined with $name", ({ s }) => {
    expect(integrationCredentialsVersion(s)).toBeUndefined();
  });
});

describe("tokenCredentialsVersion", () => {
  const times = { issuedAt: new Date(0), expiresAt: new Date(3_600_000) };
  const secret = (inputs: string, token: string, holderUid = "uid-1") => {
    const c = tokenSecretContent(token, times, { inputsVersion: inputs, generation: 1, request: "r" });
    return {
      metadata: { annotations: { ...c.annotations, "datatrails.ai/holder-uid": holderUid } },
      data: Object.fromEntries(
        Object.entries(c.stringData).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
      ),
    };
  };

  it("keeps its value over a refresh with the same inputs and changes with new inputs", () => {
    const v = tokenCredentialsVersion(secret("s-uid/10", "token-a"), "uid-1");
    expect(v).toMatch(/^[0-9a-f]{16}$/);
    expect(tokenCredentialsVersion(secret("s-uid/10", "token-b"), "uid-1")).toBe(v);
    expect(tokenCredentialsVersion(secret("s-uid/11", "token-c"), "uid-1")).not.toBe(v);
  });

  it("is undefined for a Secret another object holds, or none", () => {
    expect(tokenCredentialsVersion(secret("s-uid/10", "token-a", "uid-2"), "uid-1")).toBeUndefined();
    expect(tokenCredentialsVersion(undefined, "uid-1")).toBeUndefined();
  });
});

describe("reloadAnnotationKey", () => {
  it.each([
    { kind: "DataTrailsIntegration" as const, name: "app", key: "integration.reload.datatrails.ai/app" },
    { kind: "BearerToken" as const, name: "tok", key: "bearertoken.reload.datatrails.ai/tok" },
  ])("$kind $name", ({ kind, name, key }) => {
    expect(reloadAnnotationKey(kind, name)).toBe(key);
  });

  it("shortens a long name to a valid, distinct annotation name", () => {
    const long = `${"a".repeat(70)}.example`;
    const key = reloadAnnotationKey("DataTrailsIntegration", long);
    const name = key.split("/")[1] ?? "";
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/);
    expect(reloadAnnotationKey("DataTrailsIntegration", `${long}x`)).not.toBe(key);
  });
});
