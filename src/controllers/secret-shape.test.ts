import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { credentialsShape, tokenShape, type SecretTemplate } from "../api/v1alpha1/index.ts";
import {
  readValues,
  render,
  shapeIsCurrent,
  shapeSecret,
  staleFields,
  templateDigest,
} from "./secret-shape.ts";

const credentials = {
  client_id: "c1d2",
  client_secret: 's3cr$t "x"',
  token_url: "https://dt.example/archivist/iam/v1/appidp/token",
  url: "https://dt.example",
};
const own = {
  labels: { "app.kubernetes.io/managed-by": "datatrails-operator" },
  annotations: { "datatrails.ai/holder-uid": "u1" },
};

function stored(shaped: ReturnType<typeof shapeSecret>): V1Secret {
  return {
    metadata: { name: "x", annotations: shaped.annotations, labels: shaped.labels },
    data: Object.fromEntries(
      Object.entries(shaped.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    ),
  };
}

describe("renderings", () => {
  it("writes a .env with the four DATATRAILS_ variables, quoting what needs quoting", () => {
    expect(render(credentialsShape, "Dotenv", credentials)).toBe(
      "DATATRAILS_URL=https://dt.example\n" +
        "DATATRAILS_CLIENT_ID=c1d2\n" +
        'DATATRAILS_CLIENT_SECRET="s3cr\\$t \\"x\\""\n' +
        "DATATRAILS_TOKEN_URL=https://dt.example/archivist/iam/v1/appidp/token\n",
    );
  });

  it("writes a JSON credentials file with the same values", () => {
    expect(JSON.parse(render(credentialsShape, "JSON", credentials))).toEqual(credentials);
  });

  it("writes the token's .env without the bearer header file", () => {
    expect(
      render(tokenShape, "Dotenv", {
        access_token: "a.b.c",
        "bearer-token.txt": "x",
        expires_at: "2026-01-01T00:00:00Z",
      }),
    ).toBe("DATATRAILS_TOKEN=a.b.c\nDATATRAILS_TOKEN_EXPIRES_AT=2026-01-01T00:00:00Z\n");
  });
});

describe("shapeSecret", () => {
  const template: SecretTemplate = {
    type: "datatrails.ai/credentials",
    metadata: {
      labels: { team: "a" },
      annotations: { "argocd.argoproj.io/compare-options": "IgnoreExtraneous" },
    },
    keys: { client_id: "DATATRAILS_CLIENT_ID", client_secret: "secret" },
    renderings: ["Dotenv"],
  };

  it("renames keys, adds renderings and metadata, and records the key names and the template", () => {
    const shaped = shapeSecret(credentialsShape, template, credentials, own);
    expect(Object.keys(shaped.data).sort()).toEqual([
      ".env",
      "DATATRAILS_CLIENT_ID",
      "secret",
      "token_url",
      "url",
    ]);
    expect(shaped.type).toBe("datatrails.ai/credentials");
    expect(shaped.labels).toEqual({ team: "a", "app.kubernetes.io/managed-by": "datatrails-operator" });
    expect(shaped.annotations["datatrails.ai/keys"]).toBe(
      '{"client_id":"DATATRAILS_CLIENT_ID","client_secret":"secret"}',
    );
    expect(JSON.parse(shaped.annotations["datatrails.ai/template"] ?? "")).toEqual({
      digest: templateDigest(template),
      data: [".env"],
      labels: ["team"],
      annotations: ["argocd.argoproj.io/compare-options"],
    });
    expect(shaped.annotations["datatrails.ai/holder-uid"]).toBe("u1");
  });

  it("writes exactly the canonical keys and no bookkeeping without a template", () => {
    const shaped = shapeSecret(credentialsShape, undefined, credentials, own);
    expect(shaped.data).toEqual(credentials);
    expect(shaped.annotations).toEqual(own.annotations);
    expect(shaped.type).toBeUndefined();
  });

  it("never lets a template override the operator's own labels and annotations", () => {
    const hostile = {
      metadata: {
        labels: { "app.kubernetes.io/managed-by": "someone" },
        annotations: { "datatrails.ai/holder-uid": "other" },
      },
    } as SecretTemplate;
    const shaped = shapeSecret(credentialsShape, hostile, credentials, own);
    expect(shaped.labels["app.kubernetes.io/managed-by"]).toBe("datatrails-operator");
    expect(shaped.annotations["datatrails.ai/holder-uid"]).toBe("u1");
  });

  it("reads the values back under the names they were written with, whatever the new template says", () => {
    const secret = stored(shapeSecret(credentialsShape, template, credentials, own));
    expect(readValues(credentialsShape, secret)).toEqual(credentials);
    expect(shapeIsCurrent(credentialsShape, template, secret)).toBe(true);
    expect(shapeIsCurrent(credentialsShape, { ...template, keys: { client_id: "id" } }, secret)).toBe(false);
    expect(shapeIsCurrent(credentialsShape, undefined, secret)).toBe(false);
  });

  it("reads a Secret of an earlier version (no annotations) under the canonical names, as current without a template", () => {
    const secret = stored({ data: credentials, labels: {}, annotations: {} });
    expect(readValues(credentialsShape, secret)).toEqual(credentials);
    expect(shapeIsCurrent(credentialsShape, undefined, secret)).toBe(true);
  });

  it("names what the earlier template wrote and the new one does not: old key names, renderings, labels, annotations", () => {
    const secret = stored(shapeSecret(credentialsShape, template, credentials, own));
    expect(staleFields(credentialsShape, secret, { keys: { client_secret: "secret" } })).toEqual({
      data: ["DATATRAILS_CLIENT_ID", ".env"],
      labels: ["team"],
      annotations: ["argocd.argoproj.io/compare-options"],
    });
    expect(staleFields(credentialsShape, secret, template)).toEqual({
      data: [],
      labels: [],
      annotations: [],
    });
    // A Secret of an earlier version: its canonical keys go when the template renames them.
    const plain = stored({ data: credentials, labels: {}, annotations: {} });
    expect(staleFields(credentialsShape, plain, { keys: { url: "endpoint" } }).data).toEqual(["url"]);
  });

  it("gives the same digest whatever the order of the template's fields", () => {
    expect(templateDigest({ keys: { url: "u", client_id: "c" } })).toBe(
      templateDigest({ keys: { client_id: "c", url: "u" } }),
    );
    expect(templateDigest({})).toBeUndefined();
  });
});
