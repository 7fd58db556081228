import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { bearerFile, readTokenSecret, tokenSecretContent } from "./secret.ts";

const times = { issuedAt: new Date("2026-03-01T00:00:00Z"), expiresAt: new Date("2026-03-01T01:00:00Z") };

function asSecret(
  content: ReturnType<typeof tokenSecretContent>,
  edit: (data: Record<string, string>) => void = () => undefined,
): V1Secret {
  const data = { ...content.stringData };
  edit(data);
  return {
    metadata: { name: "t", resourceVersion: "9", annotations: content.annotations },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
}

describe("the token Secret", () => {
  const content = tokenSecretContent("eyJhbGciOi.payload.sig", times, "uid/12", 4);

  it("holds exactly the curl -H @file line and a newline", () => {
    expect(content.stringData["bearer-token.txt"]).toBe("Authorization: Bearer eyJhbGciOi.payload.sig\n");
    expect(bearerFile("x")).toMatch(/^Authorization: Bearer x\n$/);
  });

  it("carries expires_at in RFC 3339 and the same in the annotation", () => {
    expect(content.stringData["expires_at"]).toBe("2026-03-01T01:00:00Z");
    expect(content.annotations["datatrails.ai/expires-at"]).toBe("2026-03-01T01:00:00Z");
  });

  it("reads back the schedule, and never the token", () => {
    const view = readTokenSecret(asSecret(content));
    expect(view).toEqual({
      resourceVersion: "9",
      hasToken: true,
      issuedAt: times.issuedAt,
      expiresAt: times.expiresAt,
      inputsVersion: "uid/12",
      generation: 4,
      wellFormed: true,
    });
    expect(JSON.stringify(view)).not.toContain("eyJhbGciOi");
  });

  it.each<[string, (d: Record<string, string>) => void]>([
    ["an edited token", (d) => (d["access_token"] = "other")],
    ["an edited file", (d) => (d["bearer-token.txt"] = "Authorization: Bearer other\n")],
    ["a removed expiry", (d) => delete d["expires_at"]],
  ])("notices %s", (_name, edit) => {
    expect(readTokenSecret(asSecret(content, edit))?.wellFormed).toBe(false);
  });

  it("reads an absent Secret as absent", () => {
    expect(readTokenSecret(undefined)).toBeUndefined();
  });
});
