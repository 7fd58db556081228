/**
 * Shared building blocks of the datatrails.ai/v1alpha1 schemas: the group, object references,
 * metav1.Condition, and the metadata the operator reads. Schemas are written once here in zod;
 * the CRD YAML in crds/ is generated from them (see crd.ts).
 */
import { z } from "zod";

/** The API group of every kind the operator serves. */
export const group = "datatrails.ai";
/** The one served and stored version. */
export const version = "v1alpha1";
/** apiVersion of every kind: `datatrails.ai/v1alpha1`. */
export const apiVersion = `${group}/${version}`;

/** The REST coordinates (group, version, plural) of every kind. */
export const resources = {
  integrations: { group, version, plural: "datatrailsintegrations" },
  bearerTokens: { group, version, plural: "bearertokens" },
  connections: { group, version, plural: "datatrailsconnections" },
  clusterConnections: { group, version, plural: "clusterdatatrailsconnections" },
} as const;

/** A time as the API's status fields and annotations carry it: RFC 3339 in UTC, whole seconds. */
export function rfc3339(t: Date | number): string {
  return (typeof t === "number" ? new Date(t) : t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Why a spec failed to parse, naming each field (`spec.<path>: <problem>`), never a value. */
export function specProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `spec.${i.path.map(String).join(".")}: ${i.message}`).join("; ");
}

/** A Kubernetes object name (DNS subdomain, RFC 1123), e.g. a Secret's name. */
export const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

/** A key inside a Secret's data. */
export const secretKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/);

/**
 * What to do when an output Secret exists and the operator did not create it (secret-claim.ts):
 * Refuse, Merge or Adopt. The API server applies no default (Argo CD would see it as drift); the
 * operator reads an absent value as Refuse.
 */
export const existingSecretPolicy = z
  .enum(["Refuse", "Merge", "Adopt"])
  .default("Refuse")
  .describe(
    "What to do when the Secret already exists and was not created by the operator. Refuse (the default) " +
      "leaves it byte for byte and reports SecretNotOwned. Merge writes the operator's keys into it, keeps " +
      "every other key, and leaves the Secret in place when this object is deleted. Adopt does the same " +
      "and makes this object the Secret's owner, so it is garbage-collected with the object.",
  );

/** An http(s) URL. */
export const httpUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s/$.?#][^\s]*$/);

/** metav1.Condition, as the API server and `kubectl wait` read it. */
export const condition = z.object({
  type: z
    .string()
    .min(1)
    .max(316)
    .describe("Type of condition in CamelCase: Ready, CredentialsReady or TokenReady."),
  status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition: True, False or Unknown."),
  observedGeneration: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("The .metadata.generation the condition was set from."),
  lastTransitionTime: z.string().describe("When the condition last changed status (RFC 3339)."),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .describe("CamelCase reason for the last transition; listed in docs/conditions.md."),
  message: z.string().max(32768).describe("Human-readable details. Never contains a secret."),
});
/** A metav1.Condition. */
export type Condition = z.infer<typeof condition>;

/** The conditions list, a map keyed by type as metav1 requires. */
export const conditions = z
  .array(condition)
  .optional()
  .describe("Current state: Ready summarises the others; see docs/conditions.md for every reason.")
  .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });

/** A reference to a Secret in the object's own namespace and the keys that hold a client's credentials. */
export const clientCredentialsSecretRef = z
  .object({
    name: objectName.describe("Name of a Secret in the same namespace."),
    clientIdKey: secretKey.default("client_id").describe("Key holding the client ID. Defaults to client_id."),
    clientSecretKey: secretKey
      .default("client_secret")
      .describe("Key holding the client secret. Defaults to client_secret."),
  })
  .describe("A Secret in this object's namespace holding an OAuth2 client ID and secret.");

/** The subset of ObjectMeta the operator reads from its own kinds. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  generation: number;
  resourceVersion: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A custom resource as the API server returns it: typed spec, typed (and possibly absent) status. */
export interface Resource<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}
