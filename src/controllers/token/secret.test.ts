import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { bearerTokenSpec, type BearerToken } from "../../api/v1alpha1/index.ts";
import { ownerLabel } from "../../api/v1alpha1/index.ts";
import {
  bearerFile,
  publishedToken,
  readPublishedToken,
  readTokenSecret,
  tokenSecret,
  tokenSecretContent,
  withoutTokenValues,
} from "./secret.ts";

const times = { issuedAt: new Date("2026-03-01T00:00:00Z"), expiresAt: new Date("2026-03-01T01:00:00Z") };

function asSecret(
  content: { stringData: Record<string, string>; annotations: Record<string, string> },
  edit: (data: Record<string, string>) => void = () => undefined,
): V1Secret {
  const data = { ...content.stringData };
  edit(data);
  return {
    metadata: { name: "t", resourceVersion: "9", annotations: content.annotations },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
}

function bearerToken(spec: Record<string, unknown>): BearerToken {
  return {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "BearerToken",
    metadata: { name: "tl", namespace: "ns", uid: "uid-1", generation: 3, resourceVersion: "1" },
    spec: bearerTokenSpec.parse({
      secretName: "tl-token",
      dataTrails: { credentialsSecretRef: { name: "tl-credentials" } },
      ...spec,
    }),
  };
}

describe("the token Secret", () => {
  const content = tokenSecretContent("eyJhbGciOi.payload.sig", times, {
    inputsVersion: "uid/12",
    generation: 4,
    request: "r1",
  });

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
      request: "r1",
      wellFormed: true,
      shapeCurrent: true,
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

describe("the token Secret shaped by spec.secretTemplate", () => {
  const template = {
    type: "datatrails.ai/token",
    metadata: {
      labels: { team: "a" },
      annotations: { "reflector.v1.k8s.emberstack.com/reflection-allowed": "true" },
    },
    keys: { access_token: "jwt", "bearer-token.txt": "header" },
    renderings: ["Dotenv", "JSON"] as ("Dotenv" | "JSON")[],
  };
  const object = bearerToken({ secretTemplate: template });
  const written = tokenSecret(object, object.spec, { state: "free" }, "h.p.s", times, "v2:x");

  it("writes renamed keys, the renderings, the labels, annotations and type, the operator's own kept", () => {
    expect(Object.keys(written.data).sort()).toEqual([".env", "expires_at", "header", "jwt", "token.json"]);
    expect(written.data["header"]).toBe("Authorization: Bearer h.p.s\n");
    expect(JSON.parse(written.data["token.json"] ?? "")).toEqual({
      access_token: "h.p.s",
      expires_at: "2026-03-01T01:00:00Z",
      token_type: "Bearer",
    });
    expect(written.type).toBe("datatrails.ai/token");
    expect(written.labels).toMatchObject({
      team: "a",
      "app.kubernetes.io/managed-by": "datatrails-operator",
    });
    expect(written.annotations?.["reflector.v1.k8s.emberstack.com/reflection-allowed"]).toBe("true");
    expect(written.annotations?.["datatrails.ai/holder-uid"]).toBe("uid-1");
  });

  const asWritten: V1Secret = {
    metadata: { name: "tl-token", resourceVersion: "5", annotations: { ...written.annotations } },
    data: Object.fromEntries(
      Object.entries(written.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    ),
  };

  it("reads the schedule and the token back under the renamed keys (a restart fetches nothing)", () => {
    const view = readTokenSecret(asWritten, object.spec.secretTemplate);
    expect(view).toMatchObject({ hasToken: true, wellFormed: true, shapeCurrent: true, generation: 3 });
    expect(publishedToken(asWritten)).toBe("h.p.s");
  });

  it("sees a changed template, or a hand-edited rendering, as a stale shape", () => {
    expect(readTokenSecret(asWritten, undefined)?.shapeCurrent).toBe(false);
    const edited = {
      ...asWritten,
      data: { ...asWritten.data, ".env": Buffer.from("X=1\n").toString("base64") },
    };
    expect(readTokenSecret(edited, object.spec.secretTemplate)?.shapeCurrent).toBe(false);
  });
});

describe("a token Secret cached without its values", () => {
  const template = {
    keys: { access_token: "jwt" },
    renderings: ["Dotenv", "JSON"] as ("Dotenv" | "JSON")[],
  };
  const object = bearerToken({ secretTemplate: template });
  const written = tokenSecret(object, object.spec, { state: "free" }, "h.p.s", times, "v2:x");
  const secret = (edit: (data: Record<string, string>) => void = () => undefined): V1Secret => {
    const data = { ...written.data };
    edit(data);
    return {
      metadata: {
        name: "tl-token",
        resourceVersion: "5",
        labels: { ...written.labels },
        annotations: { ...written.annotations },
      },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
    };
  };

  it("keeps no value, and reads back as the whole Secret does", () => {
    const whole = secret();
    const cached = withoutTokenValues(whole);
    expect(cached.data).toBeUndefined();
    expect(JSON.stringify(cached)).not.toContain("h.p.s");
    expect(JSON.stringify(cached)).not.toContain(Buffer.from("h.p.s").toString("base64").slice(0, 6));
    expect(publishedToken(cached)).toBeUndefined();
    for (const t of [template, undefined, { ...template, renderings: ["JSON" as const] }])
      expect(readTokenSecret(cached, t)).toEqual(readTokenSecret(whole, t));
    expect(readTokenSecret(cached, template)).toMatchObject({
      hasToken: true,
      wellFormed: true,
      shapeCurrent: true,
    });
    // The stale fields of a changed template are found by name.
    expect(readTokenSecret(cached, undefined)?.stale?.data.sort()).toEqual([".env", "jwt", "token.json"]);
  });

  it.each<[string, (d: Record<string, string>) => void, "wellFormed" | "shapeCurrent"]>([
    ["an edited token", (d) => (d["jwt"] = "other"), "wellFormed"],
    ["an edited file", (d) => (d["bearer-token.txt"] = "Authorization: Bearer other\n"), "wellFormed"],
    ["a removed expiry", (d) => delete d["expires_at"], "wellFormed"],
    ["a hand-edited rendering", (d) => (d[".env"] = "X=1\n"), "shapeCurrent"],
  ])("still notices %s (a user's edit is repaired)", (_name, edit, fact) => {
    const whole = secret(edit);
    expect(readTokenSecret(withoutTokenValues(whole), template)?.[fact]).toBe(false);
    expect(readTokenSecret(withoutTokenValues(whole), template)).toEqual(readTokenSecret(whole, template));
  });

  it("keeps the values of Secrets that are not token Secrets", () => {
    const credentials = {
      ...secret(),
      metadata: { name: "c", labels: { [ownerLabel]: "datatrailsintegration.tl" } },
    };
    expect(withoutTokenValues(credentials)).toBe(credentials);
  });

  it("reads the token for a reshape: from a whole Secret as is, else with one GET of the same token", async () => {
    const whole = secret();
    let reads = 0;
    const get = (s: V1Secret | undefined) => () => {
      reads++;
      return Promise.resolve(s);
    };
    await expect(readPublishedToken(whole, get(undefined))).resolves.toBe("h.p.s");
    expect(reads).toBe(0);
    const cached = withoutTokenValues(whole);
    await expect(readPublishedToken(cached, get(whole))).resolves.toBe("h.p.s");
    expect(reads).toBe(1);
    // A newer version with the same token still serves; another token, or a corrupted one, does not.
    const newer = { ...whole, metadata: { ...whole.metadata, resourceVersion: "6" } };
    await expect(readPublishedToken(cached, get(newer))).resolves.toBe("h.p.s");
    const other = tokenSecret(object, object.spec, { state: "free" }, "o.t.h", times, "v2:x");
    const otherSecret = {
      ...whole,
      metadata: { ...whole.metadata, annotations: { ...other.annotations } },
      data: Object.fromEntries(
        Object.entries(other.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
      ),
    };
    await expect(readPublishedToken(cached, get(otherSecret))).resolves.toBeUndefined();
    await expect(readPublishedToken(cached, get(secret((d) => (d["jwt"] = "x"))))).resolves.toBeUndefined();
    await expect(readPublishedToken(cached, get(undefined))).resolves.toBeUndefined();
    await expect(readPublishedToken(undefined, get(whole))).resolves.toBeUndefined();
  });
});
