/**
 * The manifests the integration tests apply, built in one place: DataTrailsIntegration, BearerToken,
 * DataTrailsConnection, ClusterDataTrailsConnection, Secret, and the workloads spec.reload rolls. Specs are typed by what a user may
 * write (the zod schemas' input types in src/api/v1alpha1), with the defaults every test shares:
 *
 * - an integration uses the namespace's `datatrails` connection and its own name as display name;
 * - a BearerToken writes `<name>-token`;
 * - a connection is named `datatrails` and reads the admin Secret `datatrails-admin`.
 *
 * A test that sends what the schema refuses on purpose (admission tests, fuzzing) builds it with
 * the `untyped...` builders, so a typo elsewhere is still a type error.
 */
import type { z } from "zod";
import {
  apiVersion,
  serviceAccountAudiencesAnnotation,
  type bearerTokenSpec,
  type clusterConnectionSpec,
  type connectionSpec,
  type integrationSpec,
} from "../../src/api/v1alpha1/index.ts";

/** What a user may write in a DataTrailsIntegration's spec (defaults not yet applied). */
export type IntegrationSpecInput = z.input<typeof integrationSpec>;
/** What a user may write in a BearerToken's spec. */
export type BearerTokenSpecInput = z.input<typeof bearerTokenSpec>;
/** What a user may write in a DataTrailsConnection's spec. */
export type ConnectionSpecInput = z.input<typeof connectionSpec>;
/** What a user may write in a ClusterDataTrailsConnection's spec. */
export type ClusterConnectionSpecInput = z.input<typeof clusterConnectionSpec>;

/** Metadata a test may add to any object. */
export interface MetaOverrides {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** The metadata of a manifest. */
export interface ManifestMeta extends MetaOverrides {
  name: string;
  namespace?: string;
}

/** A custom resource manifest of one of the operator's kinds. */
export interface Manifest<Kind extends string, Spec> {
  apiVersion: typeof apiVersion;
  kind: Kind;
  metadata: ManifestMeta;
  spec: Spec;
}

export type IntegrationManifest = Manifest<"DataTrailsIntegration", IntegrationSpecInput>;
export type BearerTokenManifest = Manifest<"BearerToken", BearerTokenSpecInput>;
export type ConnectionManifest = Manifest<"DataTrailsConnection", ConnectionSpecInput>;
export type ClusterConnectionManifest = Manifest<"ClusterDataTrailsConnection", ClusterConnectionSpecInput>;

/** A v1 Secret manifest with its values in `stringData` (or, base64-encoded, in `data`). */
export interface SecretManifest {
  apiVersion: "v1";
  kind: "Secret";
  metadata: ManifestMeta;
  type?: string;
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}

/** The connection every test namespace gets (test/support/env.ts) and the admin Secret it reads. */
export const defaultConnectionName = "datatrails";
export const defaultAdminSecretName = "datatrails-admin";

function meta(name: string, namespace: string | undefined, overrides: MetaOverrides): ManifestMeta {
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    ...(overrides.labels ? { labels: overrides.labels } : {}),
    ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
    ...(overrides.finalizers ? { finalizers: overrides.finalizers } : {}),
  };
}

/**
 * A DataTrailsIntegration on the namespace's `datatrails` connection whose display name is its own
 * name; `spec` overrides or adds fields.
 */
export function integrationManifest(
  namespace: string,
  name: string,
  spec: Partial<IntegrationSpecInput> = {},
  overrides: MetaOverrides = {},
): IntegrationManifest {
  return {
    apiVersion,
    kind: "DataTrailsIntegration",
    metadata: meta(name, namespace, overrides),
    spec: { connectionRef: { name: defaultConnectionName }, displayName: name, ...spec },
  };
}

/** A BearerToken that writes `<name>-token`; `spec` names the issuer and may override the rest. */
export function bearerTokenManifest(
  namespace: string,
  name: string,
  spec: Omit<BearerTokenSpecInput, "secretName"> & { secretName?: string },
  overrides: MetaOverrides = {},
): BearerTokenManifest {
  return {
    apiVersion,
    kind: "BearerToken",
    metadata: meta(name, namespace, overrides),
    spec: { secretName: `${name}-token`, ...spec },
  };
}

/** The `dataTrails` issuer of a BearerToken, reading a credentials Secret (client_id, client_secret). */
export function dataTrailsIssuer(
  credentialsSecret: string,
  url?: string,
): NonNullable<BearerTokenSpecInput["dataTrails"]> {
  return { credentialsSecretRef: { name: credentialsSecret }, ...(url === undefined ? {} : { url }) };
}

/** A DataTrailsConnection (named `datatrails` unless told) to `url`, reading `datatrails-admin`. */
export function connectionManifest(
  namespace: string,
  url: string,
  spec: Partial<ConnectionSpecInput> = {},
  name: string = defaultConnectionName,
  overrides: MetaOverrides = {},
): ConnectionManifest {
  return {
    apiVersion,
    kind: "DataTrailsConnection",
    metadata: meta(name, namespace, overrides),
    spec: { url, credentialsSecretRef: { name: defaultAdminSecretName }, ...spec },
  };
}

/** A ClusterDataTrailsConnection; the admin Secret's namespace has no default. */
export function clusterConnectionManifest(
  name: string,
  spec: ClusterConnectionSpecInput,
  overrides: MetaOverrides = {},
): ClusterConnectionManifest {
  return {
    apiVersion,
    kind: "ClusterDataTrailsConnection",
    metadata: meta(name, undefined, overrides),
    spec,
  };
}

/** A Secret holding `stringData`; `type` defaults to the API server's (Opaque). */
export function secretManifest(
  namespace: string,
  name: string,
  stringData: Record<string, string>,
  overrides: MetaOverrides & { type?: string } = {},
): SecretManifest {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(name, namespace, overrides),
    ...(overrides.type === undefined ? {} : { type: overrides.type }),
    stringData,
  };
}

/** A Secret holding `values` base64-encoded in `data`, as a client that does not use `stringData` writes it. */
export function encodedSecretManifest(
  namespace: string,
  name: string,
  values: Record<string, string>,
  overrides: MetaOverrides = {},
): SecretManifest {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(name, namespace, overrides),
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
}

/** A Secret with an OAuth2 client's `client_id` and `client_secret` (the admin Secret by default). */
export function clientSecretManifest(
  namespace: string,
  credentials: { clientId: string; clientSecret: string },
  name: string = defaultAdminSecretName,
  overrides: MetaOverrides = {},
): SecretManifest {
  return secretManifest(
    namespace,
    name,
    { client_id: credentials.clientId, client_secret: credentials.clientSecret },
    overrides,
  );
}

/** A `kubernetes.io/tls` Secret holding a certificate and its private key (PEM). */
export function tlsSecretManifest(
  namespace: string,
  name: string,
  pair: { certificatePem: string; privateKeyPem: string },
  overrides: MetaOverrides = {},
): SecretManifest {
  return secretManifest(
    namespace,
    name,
    { "tls.crt": pair.certificatePem, "tls.key": pair.privateKeyPem },
    { ...overrides, type: "kubernetes.io/tls" },
  );
}

/** A ServiceAccount; `audiences` fills its opt-in annotation for token requests by the operator. */
export function serviceAccountManifest(
  namespace: string,
  name: string,
  audiences: string[] = [],
): { apiVersion: "v1"; kind: "ServiceAccount"; metadata: ManifestMeta } {
  const annotations = audiences.length
    ? { [serviceAccountAudiencesAnnotation]: audiences.join(",") }
    : undefined;
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta(name, namespace, annotations ? { annotations } : {}),
  };
}

/**
 * The `oauth2ClientCredentials` issuer of a BearerToken that authenticates with a client assertion:
 * signed with the certificate in a `kubernetes.io/tls` Secret, or a ServiceAccount's token.
 */
export function clientAssertionIssuer(
  tokenUrl: string,
  clientId: string,
  assertion: { certificateSecret: string } | { serviceAccount: string; audience?: string },
  target: { resource: string } | { scopes: string[] },
): NonNullable<BearerTokenSpecInput["oauth2ClientCredentials"]> {
  return {
    tokenUrl,
    ...target,
    clientAssertion: {
      clientId,
      ...("certificateSecret" in assertion
        ? { certificate: { secretRef: { name: assertion.certificateSecret } } }
        : {
            serviceAccount: {
              name: assertion.serviceAccount,
              ...(assertion.audience === undefined ? {} : { audience: assertion.audience }),
            },
          }),
    },
  };
}

/**
 * An object of one of the operator's kinds with any spec at all: for tests that send what the
 * schema refuses on purpose, to see the API server or the operator refuse it.
 */
export function untypedResource<
  Kind extends
    "DataTrailsIntegration" | "BearerToken" | "DataTrailsConnection" | "ClusterDataTrailsConnection",
>(
  kind: Kind,
  namespace: string | undefined,
  name: string,
  spec: Record<string, unknown>,
  overrides: MetaOverrides = {},
): Manifest<Kind, Record<string, unknown>> {
  return { apiVersion, kind, metadata: meta(name, namespace, overrides), spec };
}

/** `integrationManifest`'s defaults under a spec the schema may refuse (admission tests). */
export function untypedIntegrationManifest(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  overrides: MetaOverrides = {},
): Manifest<"DataTrailsIntegration", Record<string, unknown>> {
  const typed = integrationManifest(namespace, name, {}, overrides);
  return { ...typed, spec: { ...typed.spec, ...spec } };
}

/** `bearerTokenManifest`'s defaults (`<name>-token`) under a spec the schema may refuse. */
export function untypedBearerTokenManifest(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  overrides: MetaOverrides = {},
): Manifest<"BearerToken", Record<string, unknown>> {
  return untypedResource("BearerToken", namespace, name, { secretName: `${name}-token`, ...spec }, overrides);
}

/** An apps/v1 workload manifest (Deployment, StatefulSet or DaemonSet). */
export interface WorkloadManifest {
  apiVersion: "apps/v1";
  kind: "Deployment" | "StatefulSet" | "DaemonSet";
  metadata: ManifestMeta;
  spec: Record<string, unknown>;
}

/**
 * A Deployment, StatefulSet or DaemonSet of one pause container, labelled `app=<name>` (plus
 * `overrides.labels`), whose pod template carries `templateAnnotations`. The test control plane runs
 * no kube-controller-manager, so no pod is ever made: tests read the pod template.
 */
export function workloadManifest(
  namespace: string,
  kind: WorkloadManifest["kind"],
  name: string,
  templateAnnotations: Record<string, string> = {},
  overrides: MetaOverrides = {},
): WorkloadManifest {
  const labels = { app: name, ...overrides.labels };
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: meta(name, namespace, { ...overrides, labels }),
    spec: {
      ...(kind === "StatefulSet" ? { serviceName: name } : {}),
      ...(kind === "DaemonSet" ? {} : { replicas: 1 }),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: templateAnnotations },
        spec: { containers: [{ name: "main", image: "registry.k8s.io/pause:3.10" }] },
      },
    },
  };
}
