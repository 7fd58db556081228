/**
 * Resolves the connection an integration names: its kind, whether this namespace may use it (a
 * cluster connection's allowedNamespaces), its admin Secret (read only in the connection's own
 * namespace for a namespaced connection), and the DataTrails client for it.
 */
import {
  clusterConnectionSpec,
  connectionSpec,
  Reason,
  type DataTrailsIntegration,
  type IntegrationSpec,
} from "../../api/v1alpha1/index.ts";
import type { DataTrailsApi } from "../../datatrails/api.ts";
import { decodeSecretData } from "../../k8s/secrets.ts";
import { selectorMatches } from "../../k8s/selector.ts";
import { dataTrailsTokenUrl } from "../../tokens/factory.ts";
import type { GatherDeps } from "./gather.ts";
import type { Failure } from "./model.ts";

/** The connection an integration names, resolved, or why it cannot be used. */
type ConnectionResult =
  { state: "ready"; url: string; tokenUrl: string; api: DataTrailsApi } | ({ state: "failed" } & Failure);

export async function resolveConnection(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec,
  deps: GatherDeps,
): Promise<ConnectionResult> {
  const namespace = obj.metadata.namespace ?? "";
  const ref = spec.connectionRef;
  let url: string;
  let requestsPerSecond: number;
  let secretRef: { namespace: string; name: string; clientIdKey: string; clientSecretKey: string };
  if (ref.kind === "ClusterDataTrailsConnection") {
    const conn = deps.getClusterConnection(ref.name);
    if (!conn)
      return {
        state: "failed",
        reason: Reason.ConnectionNotFound,
        message: `ClusterDataTrailsConnection ${ref.name} not found.`,
      };
    const parsed = clusterConnectionSpec.safeParse(conn.spec);
    if (!parsed.success)
      return {
        state: "failed",
        reason: Reason.InvalidSpec,
        message: `ClusterDataTrailsConnection ${ref.name} is invalid.`,
      };
    const allowed = parsed.data.allowedNamespaces;
    let ok = allowed?.names?.includes(namespace) ?? false;
    if (!ok && allowed?.selector) {
      const labels = await deps.namespaceLabels(namespace);
      ok = labels !== undefined && selectorMatches(allowed.selector, labels);
    }
    if (!ok) {
      return {
        state: "failed",
        reason: Reason.ConnectionNotAllowed,
        message: `ClusterDataTrailsConnection ${ref.name} does not allow namespace ${namespace}.`,
      };
    }
    url = parsed.data.url;
    requestsPerSecond = parsed.data.requestsPerSecond;
    secretRef = parsed.data.credentialsSecretRef;
  } else {
    const conn = deps.getConnection(namespace, ref.name);
    if (!conn)
      return {
        state: "failed",
        reason: Reason.ConnectionNotFound,
        message: `DataTrailsConnection ${ref.name} not found.`,
      };
    const parsed = connectionSpec.safeParse(conn.spec);
    if (!parsed.success)
      return {
        state: "failed",
        reason: Reason.InvalidSpec,
        message: `DataTrailsConnection ${ref.name} is invalid.`,
      };
    url = parsed.data.url;
    requestsPerSecond = parsed.data.requestsPerSecond;
    // A namespaced connection reads its Secret in its own namespace, never elsewhere.
    secretRef = { ...parsed.data.credentialsSecretRef, namespace };
  }
  const data = decodeSecretData(await deps.lookupSecret(secretRef.namespace, secretRef.name));
  const clientId = data[secretRef.clientIdKey];
  const clientSecret = data[secretRef.clientSecretKey];
  if (!clientId || !clientSecret) {
    return {
      state: "failed",
      reason: Reason.SecretNotFound,
      message: `Secret ${secretRef.namespace}/${secretRef.name} with keys ${secretRef.clientIdKey} and ${secretRef.clientSecretKey} not found.`,
    };
  }
  url = url.replace(/\/+$/, "");
  return {
    state: "ready",
    url,
    tokenUrl: dataTrailsTokenUrl(url),
    api: deps.apiFor({ url, clientId, clientSecret, requestsPerSecond }),
  };
}
