/**
 * The output Secrets' shape (docs/secret-template.md): labels, annotations, type, renamed keys and
 * the .env / JSON renderings on the credentials and the token Secret; a template change rewrites
 * both with no token request and no secret regeneration; the API server refuses a template that
 * would touch the operator's own names, collide keys or change a Secret's type, naming the field;
 * a restart with renamed keys rebuilds the schedule from the Secret and asks for nothing.
 */
import { join } from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnv, type TestEnv } from "../support/env.ts";
import { kubectl, kubectlOk, patchSecretValue, waitForCondition } from "../support/kubectl.ts";
import {
  bearerTokenManifest,
  clientSecretManifest,
  dataTrailsIssuer,
  integrationManifest,
  untypedBearerTokenManifest,
  untypedIntegrationManifest,
} from "../support/manifests.ts";
import {
  createApplication,
  decodeTokenSecret,
  getBearerToken,
  restartOperator,
  waitForQuietController,
} from "../tokens/support.ts";

const ns = "it-secret-template";
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv([ns]);
});
afterAll(async () => {
  await env?.stop();
});

async function secret(name: string): Promise<V1Secret> {
  return env.core.readNamespacedSecret({ name, namespace: ns });
}

async function values(name: string): Promise<Record<string, string>> {
  return decodeTokenSecret(await secret(name)).data;
}

async function waitReady(kind: string, name: string): Promise<void> {
  await waitForCondition(ns, `${kind}/${name}`, "Ready", 90);
}

/** Waits until the integration is Ready and its child has published the token Secret. */
async function waitTokenPublished(name: string): Promise<void> {
  await waitReady("datatrailsintegration", name);
  await expect
    .poll(async () => (await kubectl(["get", "secret", `${name}-token`, "-n", ns])).status, {
      timeout: 60_000,
    })
    .toBe(0);
  await waitReady("bearertoken", name);
}

/** Whether a JWT works against the emulator: a call that needs a bearer token answers 200. */
async function tokenWorks(jwt: string): Promise<boolean> {
  const res = await fetch(`${env.emulator.url}/archivist/v2/assets?page_size=1`, {
    headers: { authorization: `Bearer ${jwt}` },
  });
  return res.status === 200;
}

const credentialsTemplate = {
  type: "datatrails.ai/credentials",
  metadata: {
    labels: { "backup.example.com/include": "true", team: "a" },
    annotations: { "reflector.v1.k8s.emberstack.com/reflection-allowed": "true" },
  },
  keys: { client_id: "DATATRAILS_CLIENT_ID", client_secret: "DATATRAILS_CLIENT_SECRET" },
  renderings: ["Dotenv", "JSON"] as ("Dotenv" | "JSON")[],
};
const tokenTemplate = {
  metadata: { labels: { team: "a" } },
  keys: { access_token: "token" },
  renderings: ["Dotenv", "JSON"] as ("Dotenv" | "JSON")[],
};

/** Applies an integration with both templates above and waits for its token. */
async function applyShaped(name: string): Promise<void> {
  await kubectlOk(
    ["apply", "-f", "-"],
    integrationManifest(ns, name, {
      credentialsSecret: { template: credentialsTemplate },
      token: { template: tokenTemplate },
    }),
  );
  await waitTokenPublished(name);
}

describe("an integration's output Secrets shaped by templates", () => {
  it("carry the labels, annotations, type, renamed keys and renderings, and the token works", async () => {
    const name = "shaped";
    await applyShaped(name);

    const creds = await secret(`${name}-credentials`);
    expect(creds.type).toBe("datatrails.ai/credentials");
    expect(creds.metadata?.labels).toMatchObject({
      "backup.example.com/include": "true",
      team: "a",
      "app.kubernetes.io/managed-by": "datatrails-operator",
    });
    expect(creds.metadata?.annotations?.["reflector.v1.k8s.emberstack.com/reflection-allowed"]).toBe("true");
    const c = await values(`${name}-credentials`);
    expect(Object.keys(c).sort()).toEqual([
      ".env",
      "DATATRAILS_CLIENT_ID",
      "DATATRAILS_CLIENT_SECRET",
      "credentials.json",
      "token_url",
      "url",
    ]);
    expect(c[".env"]).toBe(
      `DATATRAILS_URL=${c["url"]}\nDATATRAILS_CLIENT_ID=${c["DATATRAILS_CLIENT_ID"]}\n` +
        `DATATRAILS_CLIENT_SECRET=${c["DATATRAILS_CLIENT_SECRET"]}\nDATATRAILS_TOKEN_URL=${c["token_url"]}\n`,
    );
    expect(JSON.parse(c["credentials.json"] ?? "")).toEqual({
      url: c["url"],
      client_id: c["DATATRAILS_CLIENT_ID"],
      client_secret: c["DATATRAILS_CLIENT_SECRET"],
      token_url: c["token_url"],
    });

    const t = await values(`${name}-token`);
    expect(Object.keys(t).sort()).toEqual([".env", "bearer-token.txt", "expires_at", "token", "token.json"]);
    expect(t["bearer-token.txt"]).toBe(`Authorization: Bearer ${t["token"]}\n`);
    expect(t[".env"]).toBe(
      `DATATRAILS_TOKEN=${t["token"]}\nDATATRAILS_TOKEN_EXPIRES_AT=${t["expires_at"]}\n`,
    );
    expect(JSON.parse(t["token.json"] ?? "")).toEqual({
      access_token: t["token"],
      expires_at: t["expires_at"],
      token_type: "Bearer",
    });
    expect((await secret(`${name}-token`)).metadata?.labels?.["team"]).toBe("a");
    // The child read the renamed client_id / client_secret keys: the token it got works.
    expect(await tokenWorks(t["token"] ?? "")).toBe(true);
  }, 120_000);

  it("are rewritten when the template changes, with no token request and no new secret", async () => {
    const name = "reshaped";
    await applyShaped(name);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
    await waitForQuietController(env.operator.metricsPort, "datatrailsintegration", 1);
    // Someone else labels the Secrets: that label is not the operator's and stays.
    for (const s of [`${name}-credentials`, `${name}-token`])
      await kubectlOk(["label", "secret", s, "-n", ns, "other.example.com/keep=yes"]);
    const before = { creds: await values(`${name}-credentials`), token: await values(`${name}-token`) };
    const control = env.emulator.control;
    const tokens = control.count("token");
    const regenerations = control.count("applications.regenerateSecret");

    await kubectlOk(
      ["apply", "-f", "-"],
      integrationManifest(ns, name, {
        credentialsSecret: {
          template: {
            type: credentialsTemplate.type,
            metadata: { labels: { team: "b" } },
            keys: { client_secret: "secret" },
            renderings: ["Dotenv"],
          },
        },
        token: { template: { keys: { "bearer-token.txt": "auth-header" } } },
      }),
    );
    await expect
      .poll(async () => Object.keys(await values(`${name}-credentials`)).sort(), { timeout: 60_000 })
      .toEqual([".env", "client_id", "secret", "token_url", "url"]);
    await expect
      .poll(async () => Object.keys(await values(`${name}-token`)).sort(), { timeout: 60_000 })
      .toEqual(["access_token", "auth-header", "expires_at"]);
    await waitReady("datatrailsintegration", name);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
    await waitForQuietController(env.operator.metricsPort, "datatrailsintegration", 1);

    const creds = await secret(`${name}-credentials`);
    const after = { creds: await values(`${name}-credentials`), token: await values(`${name}-token`) };
    // The same values, under the new names.
    expect(after.creds["client_id"]).toBe(before.creds["DATATRAILS_CLIENT_ID"]);
    expect(after.creds["secret"]).toBe(before.creds["DATATRAILS_CLIENT_SECRET"]);
    expect(after.token["access_token"]).toBe(before.token["token"]);
    expect(after.token["auth-header"]).toBe(before.token["bearer-token.txt"]);
    // Labels and annotations the template dropped are gone; the other manager's label stays.
    expect(creds.metadata?.labels?.["team"]).toBe("b");
    expect(creds.metadata?.labels?.["backup.example.com/include"]).toBeUndefined();
    expect(
      creds.metadata?.annotations?.["reflector.v1.k8s.emberstack.com/reflection-allowed"],
    ).toBeUndefined();
    expect(creds.metadata?.labels?.["other.example.com/keep"]).toBe("yes");
    const token = await secret(`${name}-token`);
    expect(token.metadata?.labels?.["team"]).toBeUndefined();
    expect(token.metadata?.labels?.["other.example.com/keep"]).toBe("yes");
    expect(token.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("datatrails-operator");

    expect(control.count("token")).toBe(tokens);
    expect(control.count("applications.regenerateSecret")).toBe(regenerations);
    // The child now reads the credentials under their new names.
    const child = await getBearerToken(env, ns, name);
    expect(
      (child.spec as { dataTrails?: { credentialsSecretRef?: Record<string, string> } }).dataTrails
        ?.credentialsSecretRef,
    ).toEqual({ name: `${name}-credentials`, clientSecretKey: "secret" });
  }, 180_000);
});

describe("examples/secret-template.yaml", () => {
  it("applied as it is, shapes both Secrets as docs/secret-template.md says", async () => {
    const name = "traffic-light-103";
    await kubectlOk([
      "apply",
      "-n",
      ns,
      "-f",
      join(import.meta.dirname, "../../examples/secret-template.yaml"),
    ]);
    await waitTokenPublished(name);
    const creds = await secret(`${name}-credentials`);
    expect(creds.type).toBe("datatrails.ai/credentials");
    expect(creds.metadata?.labels?.["backup.example.com/include"]).toBe("true");
    expect(Object.keys(await values(`${name}-credentials`)).sort()).toEqual([
      ".env",
      "DATATRAILS_CLIENT_ID",
      "DATATRAILS_CLIENT_SECRET",
      "credentials.json",
      "token_url",
      "url",
    ]);
    const t = await values(`${name}-token`);
    expect(t[".env"]).toMatch(/^DATATRAILS_TOKEN=\S+\nDATATRAILS_TOKEN_EXPIRES_AT=\S+\n$/);
    expect(await tokenWorks(t["access_token"] ?? "")).toBe(true);
  }, 120_000);
});

/**
 * Applies a BearerToken with `secretTemplate`, reading an application of its own from the Secret
 * `<name>-input`, and waits until it is Ready and its controller quiet.
 */
async function applySettledBearerToken(
  name: string,
  secretTemplate: NonNullable<Parameters<typeof bearerTokenManifest>[2]["secretTemplate"]>,
): Promise<void> {
  const app = await createApplication(env.emulator, `template-${name}`);
  await kubectlOk(
    ["apply", "-f", "-"],
    [
      clientSecretManifest(ns, app, `${name}-input`),
      bearerTokenManifest(ns, name, {
        dataTrails: dataTrailsIssuer(`${name}-input`, env.emulator.url),
        secretTemplate,
      }),
    ],
  );
  await waitReady("bearertoken", name);
  await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
}

describe("a BearerToken with renamed keys", () => {
  it("survives a restart: the schedule is rebuilt from the renamed keys, no token is asked for", async () => {
    const name = "renamed";
    await applySettledBearerToken(name, {
      keys: { access_token: "jwt", "bearer-token.txt": "header", expires_at: "not-after" },
      renderings: ["Dotenv"],
    });
    const before = await secret(`${name}-token`);
    const nextRefresh = (await getBearerToken(env, ns, name)).status?.nextRefreshAt;
    expect(Object.keys(decodeTokenSecret(before).data).sort()).toEqual([
      ".env",
      "header",
      "jwt",
      "not-after",
    ]);

    const tokens = env.emulator.control.count("token");
    await restartOperator(env);
    await expect.poll(() => env.operator.isReady(), { timeout: 30_000 }).toBe(true);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);

    expect(env.emulator.control.count("token")).toBe(tokens);
    expect((await secret(`${name}-token`)).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect((await getBearerToken(env, ns, name)).status?.nextRefreshAt).toBe(nextRefresh);
  }, 120_000);
});

describe("a hand-edited rendering", () => {
  it("is put back from the Secret's own values, with no token request", async () => {
    const name = "edited";
    await applySettledBearerToken(name, { renderings: ["Dotenv"] });
    const original = (await values(`${name}-token`))[".env"];
    const tokens = env.emulator.control.count("token");

    await patchSecretValue(ns, `${name}-token`, ".env", "DATATRAILS_TOKEN=forged\n");
    await expect
      .poll(async () => (await values(`${name}-token`))[".env"], { timeout: 30_000 })
      .toBe(original);
    await waitForQuietController(env.operator.metricsPort, "bearertoken", 1);
    expect(env.emulator.control.count("token")).toBe(tokens);
  }, 120_000);
});

describe("admission refuses a template, naming the field", () => {
  it.each<{ name: string; template: Record<string, unknown>; field: string; says: RegExp }>([
    {
      name: "the operator's managed-by label",
      template: { metadata: { labels: { "app.kubernetes.io/managed-by": "me" } } },
      field: "spec.credentialsSecret.template.metadata.labels",
      says: /operator's own names/,
    },
    {
      name: "a datatrails.ai/ annotation",
      template: { metadata: { annotations: { "datatrails.ai/holder-uid": "x" } } },
      field: "spec.credentialsSecret.template.metadata.annotations",
      says: /operator's own names/,
    },
    {
      name: "a label name that is not a qualified name",
      template: { metadata: { labels: { "not a label!": "x" } } },
      field: "spec.credentialsSecret.template.metadata.labels",
      says: /qualified names/,
    },
    {
      name: "a renamed key that collides with another key",
      template: { keys: { client_id: "url" } },
      field: "spec.credentialsSecret.template.keys",
      says: /must be distinct/,
    },
    {
      name: "a renamed key that collides with a rendering",
      template: { keys: { client_secret: ".env" }, renderings: ["Dotenv"] },
      field: "spec.credentialsSecret.template.keys",
      says: /must be distinct/,
    },
    {
      name: "a key name with characters a Secret refuses",
      template: { keys: { client_id: "client id" } },
      field: "spec.credentialsSecret.template.keys.client_id",
      says: /should match/,
    },
    {
      name: "a kubernetes.io/ type",
      template: { type: "kubernetes.io/tls" },
      field: "spec.credentialsSecret.template.type",
      says: /type must be Opaque or a type outside kubernetes.io/,
    },
    {
      name: "an unknown rendering",
      template: { renderings: ["Yaml"] },
      field: "spec.credentialsSecret.template.renderings[0]",
      says: /Unsupported value/,
    },
  ])("refuses $name", async ({ template, field, says }) => {
    const result = await kubectl(
      ["apply", "--dry-run=server", "-f", "-"],
      untypedIntegrationManifest(ns, "refused", { credentialsSecret: { template } }),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(field);
    expect(result.stderr).toMatch(says);
  });

  it("refuses the operator's own names in the token Secret's template too", async () => {
    const result = await kubectl(
      ["apply", "--dry-run=server", "-f", "-"],
      untypedIntegrationManifest(ns, "refused-token", {
        token: { template: { metadata: { labels: { "datatrails.ai/owner": "someone" } } } },
      }),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("spec.token.template.metadata.labels");
    expect(result.stderr).toMatch(/operator's own names/);
  });

  it("refuses a change of the Secret's type once the object exists", async () => {
    const name = "typed";
    await kubectlOk(
      ["apply", "-f", "-"],
      untypedBearerTokenManifest(ns, name, {
        dataTrails: { credentialsSecretRef: { name: "absent-input" } },
        secretTemplate: { type: "datatrails.ai/token" },
      }),
    );
    const result = await kubectl(
      ["apply", "-f", "-"],
      untypedBearerTokenManifest(ns, name, {
        dataTrails: { credentialsSecretRef: { name: "absent-input" } },
        secretTemplate: { type: "example.com/other" },
      }),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("spec.secretTemplate.type");
    expect(result.stderr).toMatch(/cannot be changed/);
  });
});
