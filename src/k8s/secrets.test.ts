import { describe, expect, it } from "vitest";
import { decodeSecretData, secretApplyBody, type AppliedSecret } from "./secrets.ts";

const secret = (over: Partial<AppliedSecret> = {}): AppliedSecret => ({
  namespace: "team-a",
  name: "api-token",
  data: { access_token: "eyJ.x.y", "bearer-token.txt": "Authorization: Bearer eyJ.x.y\n" },
  ...over,
});

describe("secretApplyBody", () => {
  it("is an Opaque Secret with base64 data and no stringData (SSA ownership needs data)", () => {
    const body = secretApplyBody(secret());
    expect(body).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "api-token", namespace: "team-a" },
      type: "Opaque",
      data: {
        access_token: Buffer.from("eyJ.x.y").toString("base64"),
        "bearer-token.txt": Buffer.from("Authorization: Bearer eyJ.x.y\n").toString("base64"),
      },
    });
    expect(body).not.toHaveProperty("stringData");
  });

  it.each([
    {
      name: "labels",
      over: { labels: { "app.kubernetes.io/managed-by": "datatrails-operator" } },
      path: "labels",
    },
    {
      name: "annotations",
      over: { annotations: { "datatrails.ai/expires-at": "2025-01-01T00:00:00Z" } },
      path: "annotations",
    },
    {
      name: "ownerReferences",
      over: {
        ownerReferences: [
          {
            apiVersion: "datatrails.ai/v1alpha1",
            kind: "BearerToken",
            name: "t",
            uid: "u-1",
            controller: true,
          },
        ],
      },
      path: "ownerReferences",
    },
  ])("carries $name only when given", ({ over, path }) => {
    const withIt = secretApplyBody(secret(over)) as { metadata: Record<string, unknown> };
    const without = secretApplyBody(secret()) as { metadata: Record<string, unknown> };
    expect(withIt.metadata[path]).toEqual(Object.values(over)[0]);
    expect(without.metadata).not.toHaveProperty(path);
  });

  it("round-trips UTF-8 values through decodeSecretData", () => {
    const body = secretApplyBody(secret({ data: { note: "héllo ✓", empty: "" } })) as {
      data: Record<string, string>;
    };
    expect(decodeSecretData({ data: body.data })).toEqual({ note: "héllo ✓", empty: "" });
    expect(decodeSecretData(undefined)).toEqual({});
  });
});
