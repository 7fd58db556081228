/**
 * gatherToken for the client-assertion issuers: what it reads (a TLS Secret, or nothing for a
 * ServiceAccount), the inputs it hands the issuer and the version the token Secret records.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  bearerTokenSpec,
  managedByLabel,
  managedByValue,
  ownerLabel,
  type BearerToken,
} from "../../api/v1alpha1/index.ts";
import { soleOwnership } from "../testing/sole-ownership.ts";
import { gatherToken } from "./gather.ts";
import { withoutTokenValues } from "./secret.ts";

const namespace = "team-a";
const ownership = soleOwnership;

function token(clientAssertion: Record<string, unknown>): BearerToken {
  return {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "BearerToken",
    metadata: { name: "t", namespace, uid: "u-1", generation: 1, resourceVersion: "1" },
    spec: bearerTokenSpec.parse({
      secretName: "t-token",
      oauth2ClientCredentials: {
        tokenUrl: "https://login.example/tenant/oauth2/v2.0/token",
        scopes: ["api://x/.default"],
        clientAssertion: { clientId: "app-1", ...clientAssertion },
      },
    }),
  };
}

const tls = (data: Record<string, string>): V1Secret => ({
  metadata: { name: "app-cert", namespace, uid: "s-1", resourceVersion: "42" },
  type: "kubernetes.io/tls",
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
});

describe("gatherToken with a client assertion", () => {
  it("reads no Secret for a ServiceAccount and records its name and audience as the input version", async () => {
    const looked: string[] = [];
    const { observed, inputs } = await gatherToken(
      token({ serviceAccount: { name: "exchanger" } }),
      (ns, name) => {
        looked.push(`${ns}/${name}`);
        return Promise.resolve(undefined);
      },
      ownership,
    );
    expect(looked).toEqual([`${namespace}/t-token`]);
    expect(inputs).toEqual({ kind: "serviceAccount", namespace });
    expect(observed.inputs).toEqual({
      state: "ready",
      version: "serviceaccount/exchanger/api://AzureADTokenExchange",
    });
  });

  it.each([
    {
      name: "a TLS Secret: its certificate and key, versioned by a digest of both",
      secret: tls({ "tls.crt": "CERT", "tls.key": "KEY" }),
      inputs: { kind: "certificate", certificatePem: "CERT", privateKeyPem: "KEY" },
      state: {
        state: "ready",
        version: expect.stringMatching(/^v2:[0-9a-f]{32}$/) as unknown,
        legacyVersion: "s-1/42",
      },
    },
    {
      name: "a TLS Secret without tls.key: the missing key, never a value",
      secret: tls({ "tls.crt": "CERT" }),
      inputs: undefined,
      state: { state: "failed", message: "Secret app-cert has no tls.key" },
    },
    {
      name: "no TLS Secret",
      secret: undefined,
      inputs: undefined,
      state: { state: "failed", message: "Secret app-cert not found" },
    },
  ])("reads $name", async ({ secret, inputs, state }) => {
    const gathered = await gatherToken(
      token({ certificate: { secretRef: { name: "app-cert" } } }),
      (_ns, name) => Promise.resolve(name === "app-cert" ? secret : undefined),
      ownership,
    );
    expect(gathered.inputs).toEqual(inputs);
    expect(gathered.observed.inputs).toEqual(state);
  });

  it("refuses a token Secret that is the TLS Secret it reads", async () => {
    const t = token({ certificate: { secretRef: { name: "t-token" } } });
    const { observed } = await gatherToken(t, () => Promise.resolve(undefined), ownership);
    expect(observed.specError).toMatch(/^spec.secretName: must differ from the Secret the issuer reads/);
  });
});

describe("gatherToken with another BearerToken's token Secret as its input", () => {
  it("reads the values from the API server, since the cache keeps that Secret without them", async () => {
    const whole: V1Secret = {
      metadata: {
        name: "other-token",
        namespace,
        uid: "s-2",
        resourceVersion: "7",
        labels: { [managedByLabel]: managedByValue, [ownerLabel]: "bearertoken.other" },
      },
      data: { private_key: Buffer.from("PEM").toString("base64") },
    };
    const looked: string[] = [];
    const object: BearerToken = {
      apiVersion: "datatrails.ai/v1alpha1",
      kind: "BearerToken",
      metadata: { name: "t", namespace, uid: "u-1", generation: 1, resourceVersion: "1" },
      spec: bearerTokenSpec.parse({
        secretName: "t-token",
        jwtBearer: {
          tokenUrl: "https://issuer.example/token",
          privateKeySecretRef: { name: "other-token" },
          issuer: "me",
          audience: "https://issuer.example/token",
        },
      }),
    };
    const { inputs } = await gatherToken(
      object,
      (_ns, name, options) => {
        looked.push(`${name}${options?.fresh ? " (fresh)" : ""}`);
        if (name !== "other-token") return Promise.resolve(undefined);
        return Promise.resolve(options?.fresh ? whole : withoutTokenValues(whole));
      },
      ownership,
    );
    expect(withoutTokenValues(whole).data).toBeUndefined();
    expect(looked).toEqual(["t-token", "other-token", "other-token (fresh)"]);
    expect(inputs).toEqual({ kind: "privateKey", privateKeyPem: "PEM" });
  });
});
