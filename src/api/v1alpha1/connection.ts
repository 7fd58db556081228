/**
 * DataTrailsConnection and ClusterDataTrailsConnection: where DataTrails is and which Secret holds
 * the admin integration's credentials (an OWNER integration made once in the DataTrails UI).
 */
import { z } from "zod";
import { clientCredentialsSecretRef, conditions, httpUrl, objectName, type Resource } from "./meta.ts";

/** The default DataTrails endpoint. */
export const defaultDataTrailsUrl = "https://app.datatrails.ai";

const url = httpUrl
  .default(defaultDataTrailsUrl)
  .describe("Base URL of DataTrails. Defaults to https://app.datatrails.ai.");

const requestsPerSecond = z
  .number()
  .min(0.1)
  .max(1000)
  .default(10)
  .describe("Client-side limit on App Registrations API calls through this connection. Defaults to 10.");

/** Spec of a namespaced DataTrailsConnection. */
export const connectionSpec = z
  .object({
    url,
    credentialsSecretRef: clientCredentialsSecretRef.describe(
      "Secret in this namespace with the admin (OWNER) integration's client_id and client_secret.",
    ),
    requestsPerSecond,
  })
  .describe("Where DataTrails is and which admin integration the operator acts as.");

/** Status of either connection kind. */
export const connectionStatus = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .optional()
      .describe("The generation the last check of the admin credentials was made for."),
    credentialsSecretVersion: z
      .string()
      .optional()
      .describe(
        "resourceVersion of the admin Secret the last check read: a Secret changed since is checked at once.",
      ),
    conditions,
  })
  .describe(
    "Observed state of the connection: Ready says whether the admin credentials work at the token " +
      "endpoint and carry the OWNER role (see docs/conditions.md).",
  );

/** Spec of a ClusterDataTrailsConnection. */
export const clusterConnectionSpec = z
  .object({
    url,
    credentialsSecretRef: clientCredentialsSecretRef
      .extend({
        namespace: objectName.describe("Namespace of the Secret (typically the operator's own)."),
      })
      .describe("Secret with the admin (OWNER) integration's client_id and client_secret."),
    requestsPerSecond,
    allowedNamespaces: z
      .object({
        names: z.array(objectName).max(1000).optional().describe("Namespaces allowed by name."),
        selector: z
          .object({
            matchLabels: z
              .record(z.string(), z.string())
              .optional()
              .describe("Labels a namespace must carry."),
            matchExpressions: z
              .array(
                z.object({
                  key: z.string().min(1).describe("Label key."),
                  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]).describe("Set operator."),
                  values: z.array(z.string()).optional().describe("Values for In and NotIn."),
                }),
              )
              .optional()
              .describe("Label selector requirements, ANDed."),
          })
          .optional()
          .describe("Namespaces allowed by label (a metav1.LabelSelector; an empty selector matches all)."),
      })
      .optional()
      .describe(
        "Which namespaces may use this connection: those named OR those selected. Unset allows none.",
      ),
  })
  .describe("A DataTrails connection shared across namespaces.");

/** Parsed spec of a DataTrailsConnection. */
export type ConnectionSpec = z.output<typeof connectionSpec>;
/** Parsed spec of a ClusterDataTrailsConnection. */
export type ClusterConnectionSpec = z.output<typeof clusterConnectionSpec>;
/** Status of a connection. */
export type ConnectionStatus = z.output<typeof connectionStatus>;
/** A DataTrailsConnection object. */
export type DataTrailsConnection = Resource<ConnectionSpec, ConnectionStatus>;
/** A ClusterDataTrailsConnection object. */
export type ClusterDataTrailsConnection = Resource<ClusterConnectionSpec, ConnectionStatus>;
