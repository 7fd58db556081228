/**
 * The cache shapes drop what no controller reads and keep what they do: objects as the API server
 * sends them (managed fields, kubectl's last-applied copy, unread metadata) are shaped, and every
 * reader the controllers use on cached objects gives the same answer on the shaped copy as on the
 * original. The integration reconciler's seam tests (src/controllers/integration/reconcile.test.ts)
 * run on shaped BearerTokens, integrations and connections too (integration-world.ts).
 */
import type { KubernetesObject, V1ManagedFieldsEntry, V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  bearerTokenSpec,
  connectionSpec,
  integrationSpec,
  managedByLabel,
  managedByValue,
  ownerLabel,
  refreshAnnotation,
  rotateAnnotation,
  type BearerToken,
  type DataTrailsConnection,
  type DataTrailsIntegration,
} from "../api/v1alpha1/index.ts";
import { keyOf, ownerKeys } from "../controllers/controller.ts";
import { credentialsSecretName, rotationRequested } from "../controllers/integration/predicates.ts";
import { claimOf, holderAnnotation, holderUidAnnotation } from "../controllers/secret-claim.ts";
import { publishedToken, readTokenSecret } from "../controllers/token/secret.ts";
import {
  bearerTokenCacheShape,
  connectionCacheShape,
  integrationCacheShape,
  lastAppliedAnnotation,
  secretCacheShape,
  shapeForCache,
} from "./cache-shape.ts";

const managedFields: V1ManagedFieldsEntry[] = [
  {
    manager: "kubectl-client-side-apply",
    operation: "Update",
    apiVersion: "datatrails.ai/v1alpha1",
    time: new Date("2026-06-01T12:00:00Z"),
    fieldsType: "FieldsV1",
    fieldsV1: { "f:metadata": { "f:annotations": {} }, "f:spec": { "f:displayName": {} } },
  },
  {
    manager: "datatrails-operator",
    operation: "Update",
    subresource: "status",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:status": { "f:conditions": {} } },
  },
];

const integration = (): DataTrailsIntegration & KubernetesObject => {
  const spec = integrationSpec.parse({ connectionRef: { name: "dt" }, displayName: "app" });
  return {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "DataTrailsIntegration",
    metadata: {
      name: "traffic-light",
      namespace: "team-a",
      uid: "00000000-0000-4000-8000-000000000001",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-06-01T12:00:00Z",
      generateName: "traffic-",
      deletionGracePeriodSeconds: 0,
      finalizers: ["datatrails.ai/application"],
      labels: { team: "a" },
      annotations: {
        [lastAppliedAnnotation]: JSON.stringify({ spec }),
        [refreshAnnotation]: "2026-06-01T12:30:00Z",
        [rotateAnnotation]: "1",
        "example.com/note": "n",
      },
      managedFields,
    },
    spec,
    status: { observedGeneration: 3, conditions: [] },
  } as unknown as DataTrailsIntegration & KubernetesObject;
};

const bearerToken = (): BearerToken & KubernetesObject =>
  ({
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "BearerToken",
    metadata: {
      name: "traffic-light",
      namespace: "team-a",
      uid: "00000000-0000-4000-8000-000000000002",
      resourceVersion: "43",
      generation: 1,
      creationTimestamp: "2026-06-01T12:00:01Z",
      deletionTimestamp: "2026-06-01T13:00:00Z",
      labels: { [managedByLabel]: managedByValue },
      annotations: { [refreshAnnotation]: "2026-06-01T12:30:00Z" },
      ownerReferences: [
        {
          apiVersion: "datatrails.ai/v1alpha1",
          kind: "DataTrailsIntegration",
          name: "traffic-light",
          uid: "00000000-0000-4000-8000-000000000001",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields,
    },
    spec: bearerTokenSpec.parse({
      secretName: "traffic-light-token",
      dataTrails: { credentialsSecretRef: { name: "traffic-light-credentials" } },
    }),
    status: { tokenExpiresAt: "2026-06-01T13:00:00Z" },
  }) as unknown as BearerToken & KubernetesObject;

const tokenSecret = (): V1Secret => ({
  apiVersion: "v1",
  kind: "Secret",
  type: "Opaque",
  metadata: {
    name: "traffic-light-token",
    namespace: "team-a",
    uid: "00000000-0000-4000-8000-000000000003",
    resourceVersion: "44",
    creationTimestamp: new Date("2026-06-01T12:00:02Z"),
    labels: {
      [managedByLabel]: managedByValue,
      [ownerLabel]: "bearertoken.traffic-light",
      "from-template": "yes",
    },
    annotations: {
      [holderAnnotation]: "BearerToken/traffic-light",
      [holderUidAnnotation]: "00000000-0000-4000-8000-000000000002",
      "datatrails.ai/expires-at": "2026-06-01T13:00:00Z",
      "from-template": "yes",
      [lastAppliedAnnotation]: "{}",
    },
    managedFields,
  },
  data: {
    access_token: Buffer.from("token-value").toString("base64"),
    "bearer-token.txt": Buffer.from("Bearer token-value").toString("base64"),
  },
});

describe("shapeForCache", () => {
  it("drops managedFields, kubectl's last-applied copy and unread metadata of a custom object", () => {
    const original = integration();
    const shaped = shapeForCache(original, integrationCacheShape);
    expect(shaped.metadata).toEqual({
      name: "traffic-light",
      namespace: "team-a",
      uid: "00000000-0000-4000-8000-000000000001",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-06-01T12:00:00Z",
      finalizers: ["datatrails.ai/application"],
      labels: { team: "a" },
      annotations: {
        [refreshAnnotation]: "2026-06-01T12:30:00Z",
        [rotateAnnotation]: "1",
        "example.com/note": "n",
      },
    });
    expect(shaped.spec).toBe(original.spec);
    expect(shaped.status).toBe(original.status);
    expect(shaped.apiVersion).toBe(original.apiVersion);
    expect(shaped.kind).toBe(original.kind);
    expect(JSON.stringify(shaped).length).toBeLessThan(JSON.stringify(original).length / 2);
    // The original is left as it was (the caller may still hold it).
    expect(original.metadata.managedFields).toBe(managedFields);
    expect(original.metadata.annotations?.[lastAppliedAnnotation]).toBeDefined();
  });

  it("keeps what the controllers read of an integration: the same answers on the shaped copy", () => {
    const original = integration();
    const shaped = shapeForCache(original, integrationCacheShape);
    expect(integrationSpec.safeParse(shaped.spec).success).toBe(true);
    expect(keyOf(shaped)).toBe(keyOf(original));
    expect(credentialsSecretName(shaped, integrationSpec.parse(shaped.spec))).toBe(
      credentialsSecretName(original, integrationSpec.parse(original.spec)),
    );
    expect(rotationRequested(shaped)).toBe(rotationRequested(original));
    // What the controller loop compares to decide whether an update is worth a reconcile.
    const wakes = (o: DataTrailsIntegration & KubernetesObject) => {
      const m = o.metadata;
      return JSON.stringify([
        m.generation,
        m.deletionTimestamp,
        m.finalizers,
        m.annotations,
        m.labels,
        m.uid,
      ]);
    };
    const { [lastAppliedAnnotation]: _copy, ...annotations } = original.metadata.annotations ?? {};
    expect(wakes(shaped)).toBe(wakes({ ...original, metadata: { ...original.metadata, annotations } }));
  });

  it("keeps a BearerToken's owner references, deletion and the operator's annotations", () => {
    const original = bearerToken();
    const shaped = shapeForCache(original, bearerTokenCacheShape);
    expect(shaped.metadata.managedFields).toBeUndefined();
    expect(shaped.metadata.labels).toEqual(original.metadata.labels);
    expect(shaped.metadata.ownerReferences).toEqual(original.metadata.ownerReferences);
    expect(shaped.metadata.deletionTimestamp).toBe(original.metadata.deletionTimestamp);
    expect(shaped.metadata.annotations).toEqual(original.metadata.annotations);
    expect(ownerKeys(shaped, "DataTrailsIntegration")).toEqual(["team-a/traffic-light"]);
    expect(bearerTokenSpec.safeParse(shaped.spec).success).toBe(true);
    expect(shaped.status).toBe(original.status);
  });

  it("keeps a connection's spec and status", () => {
    const original = {
      apiVersion: "datatrails.ai/v1alpha1",
      kind: "DataTrailsConnection",
      metadata: { name: "dt", namespace: "team-a", uid: "c", generation: 2, managedFields },
      spec: connectionSpec.parse({ url: "https://dt.example", credentialsSecretRef: { name: "admin" } }),
      status: { observedGeneration: 2 },
    } as DataTrailsConnection & KubernetesObject;
    const shaped = shapeForCache(original, connectionCacheShape);
    expect(shaped).toEqual({
      ...original,
      metadata: { name: "dt", namespace: "team-a", uid: "c", generation: 2 },
    });
  });

  it("keeps an operator Secret's values, type, labels and annotations but kubectl's copy", () => {
    const original = {
      ...tokenSecret(),
      metadata: {
        ...tokenSecret().metadata,
        labels: { [managedByLabel]: managedByValue, [ownerLabel]: "datatrailsintegration.traffic-light" },
      },
    };
    const shaped = shapeForCache(original, secretCacheShape);
    expect(shaped.data).toBe(original.data);
    expect(shaped.type).toBe("Opaque");
    expect(shaped.metadata?.managedFields).toBeUndefined();
    expect(shaped.metadata?.labels).toEqual(original.metadata?.labels);
    const { [lastAppliedAnnotation]: _dropped, ...kept } = original.metadata?.annotations ?? {};
    expect(shaped.metadata?.annotations).toEqual(kept);
    expect(shaped.metadata?.resourceVersion).toBe("44");
    expect(shaped.metadata?.uid).toBe(original.metadata?.uid);
    expect(shaped.metadata?.creationTimestamp).toBe(original.metadata?.creationTimestamp);
  });

  it("reads a token Secret and its claim the same way shaped or not", () => {
    const original = tokenSecret();
    const shaped = shapeForCache(original, secretCacheShape);
    expect(readTokenSecret(shaped)).toEqual(readTokenSecret(original));
    // Without the token: it is read from the API server for the one path that needs it.
    expect(shaped.data).toBeUndefined();
    expect(shaped.metadata?.labels).toEqual(original.metadata?.labels);
    expect(publishedToken(shaped)).toBeUndefined();
    expect(publishedToken(original)).toBe("token-value");
    const ctx = {
      me: {
        kind: "BearerToken" as const,
        namespace: "team-a",
        name: "traffic-light",
        uid: "00000000-0000-4000-8000-000000000002",
      },
      policy: "Refuse" as const,
      rivals: [],
      holderExists: () => true,
    };
    expect(claimOf(shaped, ctx)).toEqual(claimOf(original, ctx));
    expect(claimOf(shaped, ctx).state).toBe("mine");
  });
});
