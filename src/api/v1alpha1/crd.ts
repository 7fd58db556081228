/**
 * Generates the CustomResourceDefinitions from the zod schemas, so that the schema the API server
 * enforces and the one the operator parses with are the same text. Defaults are applied by the
 * operator, not the API server: a defaulted field the user never wrote would make Argo CD see a
 * diff between Git and the cluster.
 */
import { z } from "zod";
import { stringify } from "yaml";
import { bearerTokenSpec, bearerTokenStatus } from "./bearer-token.ts";
import { clusterConnectionSpec, connectionSpec, connectionStatus } from "./connection.ts";
import { integrationSpec, integrationStatus } from "./integration.ts";
import { group, version } from "./meta.ts";

/** A JSON Schema node as the CRD carries it. */
type SchemaNode = { [key: string]: unknown };

interface PrinterColumn {
  name: string;
  type: "string" | "date" | "integer" | "boolean";
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything needed to generate one CRD. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const readyColumn: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: "Whether the object is Ready.",
};
const reasonColumn: PrinterColumn = {
  name: "Reason",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  description: "Why it is or is not Ready.",
  priority: 1,
};
const suspendedColumn: PrinterColumn = {
  name: "Suspended",
  type: "boolean",
  jsonPath: ".spec.suspend",
  description: "Whether the operator is told to stop writing (spec.suspend).",
};
const ageColumn: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since creation.",
};

// With --shards > 1 the shard's holder stamps its shard here (docs/operations.md, "Sizing shards"); the
// holder of each shard is on its Lease. Shown with -o wide only: a single-shard install leaves it empty.
const shardColumn: PrinterColumn = {
  name: "Shard",
  type: "string",
  jsonPath: ".metadata.labels.datatrails\\.ai/shard",
  description: "The shard the object belongs to (label datatrails.ai/shard), with --shards > 1.",
  priority: 1,
};

// A connection's Reason says at a glance what is wrong with it (CredentialsRejected, NotOwner), so it
// is shown without -o wide.
const connectionColumns: PrinterColumn[] = [
  readyColumn,
  { name: "Reason", type: "string", jsonPath: reasonColumn.jsonPath, description: reasonColumn.description },
  { name: "URL", type: "string", jsonPath: ".spec.url", description: "DataTrails base URL." },
  ageColumn,
];

/** The kinds the operator serves. */
export const kinds: KindDefinition[] = [
  {
    kind: "DataTrailsConnection",
    plural: "datatrailsconnections",
    singular: "datatrailsconnection",
    shortNames: ["dtconn"],
    scope: "Namespaced",
    description:
      "Where DataTrails is and which Secret in this namespace holds the admin integration's credentials.",
    spec: connectionSpec,
    status: connectionStatus,
    printerColumns: connectionColumns,
  },
  {
    kind: "ClusterDataTrailsConnection",
    plural: "clusterdatatrailsconnections",
    singular: "clusterdatatrailsconnection",
    shortNames: ["cdtconn"],
    scope: "Cluster",
    description: "A DataTrails connection that the namespaces it allows may use.",
    spec: clusterConnectionSpec,
    status: connectionStatus,
    printerColumns: connectionColumns,
  },
  {
    kind: "DataTrailsIntegration",
    plural: "datatrailsintegrations",
    singular: "datatrailsintegration",
    shortNames: ["dtint"],
    scope: "Namespaced",
    description:
      "A DataTrails application (custom integration) whose client ID and secret the operator keeps in a Secret, " +
      "with a bearer token kept fresh in another.",
    spec: integrationSpec,
    status: integrationStatus,
    printerColumns: [
      readyColumn,
      {
        name: "Client ID",
        type: "string",
        jsonPath: ".status.clientId",
        description: "The application's client ID.",
      },
      suspendedColumn,
      reasonColumn,
      shardColumn,
      ageColumn,
    ],
  },
  {
    kind: "BearerToken",
    plural: "bearertokens",
    singular: "bearertoken",
    shortNames: ["btok"],
    scope: "Namespaced",
    description: "A bearer token kept fresh in a Secret, from DataTrails or any OAuth2 issuer.",
    spec: bearerTokenSpec,
    status: bearerTokenStatus,
    printerColumns: [
      readyColumn,
      { name: "Secret", type: "string", jsonPath: ".spec.secretName", description: "The token Secret." },
      {
        name: "Token expires",
        type: "string",
        jsonPath: ".status.tokenExpiresAt",
        description: "When the published token expires.",
      },
      {
        name: "Next refresh",
        type: "string",
        jsonPath: ".status.nextRefreshAt",
        description: "When the next refresh is due.",
        priority: 1,
      },
      suspendedColumn,
      reasonColumn,
      shardColumn,
      ageColumn,
    ],
  },
];

const int53 = 9007199254740991;

/** Rewrites zod's JSON Schema into a Kubernetes structural schema. */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== "object") return node;
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node as SchemaNode)) {
    if (key === "$schema" || key === "default") continue;
    if (key === "additionalProperties" && value === false) continue;
    if ((key === "maximum" && value === int53) || (key === "minimum" && value === -int53)) continue;
    out[key] = structural(value);
  }
  // zod spells an ISO date-time as a long pattern; the format says the same and reads better.
  if (out["format"] === "date-time") delete out["pattern"];
  return out;
}

/** The OpenAPI v3 schema of a kind's spec or status. */
export function schemaOf(type: z.ZodType): SchemaNode {
  return structural(
    z.toJSONSchema(type, { target: "openapi-3.0", io: "input", unrepresentable: "throw" }),
  ) as SchemaNode;
}

/** The CustomResourceDefinition object of one kind. */
export function customResourceDefinition(def: KindDefinition): SchemaNode {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${group}`,
      labels: {
        "app.kubernetes.io/name": "datatrails-operator",
        "app.kubernetes.io/part-of": "datatrails-operator",
      },
    },
    spec: {
      group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ["datatrails"],
      },
      scope: def.scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: def.description,
              required: ["spec"],
              properties: {
                apiVersion: {
                  type: "string",
                  description: "APIVersion of this object: datatrails.ai/v1alpha1.",
                },
                kind: { type: "string", description: `Kind of this object: ${def.kind}.` },
                metadata: { type: "object" },
                spec: schemaOf(def.spec),
                status: schemaOf(def.status),
              },
            },
          },
        },
      ],
    },
  };
}

/** The file name of a kind's CRD in crds/, as kubebuilder names them. */
export function crdFileName(def: KindDefinition): string {
  return `${group}_${def.plural}.yaml`;
}

/** The YAML text of a kind's CRD, as written to crds/. */
export function crdYaml(def: KindDefinition): string {
  return `# Generated from src/api/v1alpha1 by scripts/generate-crds.ts. Do not edit.\n${stringify(
    customResourceDefinition(def),
    { lineWidth: 0 },
  )}`;
}
