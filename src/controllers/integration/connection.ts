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
import type { V1Secret } from "@kubernetes/client-node";
import type { DataTrailsApi } from "../../datatrails/api.ts";
import { decodeSecretData } from "../../k8s/secrets.ts";
import { selectorMatches } from "../../k8s/selector.ts";
import { dataTrailsTokenUrl } from "../../tokens/factory.ts";
import type { GatherDeps } from "./gather.ts";
import type { Failure } from "./model.ts";

/**
 * The connections' admin Secrets, each kept with its resourceVersion. The connection controller
 * reads the admin Secret and records that version in the connection's status; while the status
 * names the version kept here, the copy is used and nothing is read. A changed Secret is read again
 * once the connection has recorded its new version (the connection watch wakes the integrations
 * that failed on it); a connection with no version recorded yet is read every time.
 */
export interface AdminSecretCache {
  get(
    namespace: string,
    name: string,
    version: string | undefined,
    read: () => Promise<V1Secret | undefined>,
  ): Promise<V1Secret | undefined>;
}

/** An {@link AdminSecretCache}; concurrent reconciles that miss together share one read. */
export function adminSecretCache(): AdminSecretCache {
  const kept = new Map<string, { version: string; secret: Promise<V1Secret | undefined> }>();
  return {
    get(namespace, name, version, read) {
      const key = `${namespace}/${name}`;
      if (!version) return read();
      const entry = kept.get(key);
      if (entry?.version === version) return entry.secret;
      const secret = read().then((s) => {
        // Kept only if the Secret read is the version the connection recorded.
        if (s?.metadata?.resourceVersion !== version && kept.get(key)?.secret === secret) kept.delete(key);
        return s;
      });
      secret.catch(() => {
        if (kept.get(key)?.secret === secret) kept.delete(key);
      });
      kept.set(key, { version, secret });
      return secret;
    },
  };
}

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
  let secretVersion: string | undefined;
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
    secretVersion = conn.status?.credentialsSecretVersion;
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
    secretVersion = conn.status?.credentialsSecretVersion;
  }
  const read = () => deps.lookupSecret(secretRef.namespace, secretRef.name);
  const data = decodeSecretData(
    await (deps.adminSecrets
      ? deps.adminSecrets.get(secretRef.namespace, secretRef.name, secretVersion, read)
      : read()),
  );
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
