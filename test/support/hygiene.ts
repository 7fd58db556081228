/**
 * The secrets-hygiene check: after a test file's scenario, no secret, token or key may appear in
 * anything the operator wrote besides the Secrets themselves: log lines, Events, the status of its
 * objects, metrics. Two nets: every value held in the namespaces' Secrets (current credentials,
 * tokens, the admin secret) searched for literally, and anything shaped like a DataTrails secret
 * (64 lowercase hex) or a JWT, which also catches secrets rotated away before the check.
 */
import { CoreV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { keysAnnotation } from "../../src/controllers/secret-shape.ts";

const hex64 = /\b[0-9a-f]{64}\b/;
const jwt = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

/** Where leaked material was found, for the failure message (never the material itself). */
export interface Leak {
  where: string;
  what: string;
}

/** Texts the operator produced in `namespaces`: Events, statuses of its kinds (and of cluster connections). */
async function producedTexts(kubeConfig: KubeConfig, namespaces: string[]): Promise<[string, string][]> {
  const events = kubeConfig.makeApiClient(EventsV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const texts: [string, string][] = [];
  for (const namespace of namespaces) {
    const list = await events.listNamespacedEvent({ namespace });
    for (const e of list.items)
      texts.push([`Event ${e.metadata?.name ?? ""}`, `${e.note ?? ""} ${e.reason ?? ""}`]);
    for (const plural of ["datatrailsintegrations", "bearertokens", "datatrailsconnections"]) {
      const objs = (await custom.listNamespacedCustomObject({
        group: "datatrails.ai",
        version: "v1alpha1",
        namespace,
        plural,
      })) as {
        items: { metadata: { name: string }; status?: unknown }[];
      };
      for (const o of objs.items)
        texts.push([`${plural}/${o.metadata.name} status`, JSON.stringify(o.status ?? {})]);
    }
  }
  // Cluster connections are no namespace's: their status is searched with any operator run's.
  if (namespaces.length === 0) return texts;
  const clusterConnections = (await custom.listClusterCustomObject({
    group: "datatrails.ai",
    version: "v1alpha1",
    plural: "clusterdatatrailsconnections",
  })) as { items: { metadata: { name: string }; status?: unknown }[] };
  for (const o of clusterConnections.items)
    texts.push([`clusterdatatrailsconnections/${o.metadata.name} status`, JSON.stringify(o.status ?? {})]);
  return texts;
}

function renamedKeys(annotation: string | undefined): Record<string, string> {
  try {
    return annotation ? (JSON.parse(annotation) as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Every secret value in the namespaces' Secrets (at least 16 characters, so no short labels). */
async function secretValues(kubeConfig: KubeConfig, namespaces: string[]): Promise<string[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const values = new Set<string>();
  for (const namespace of namespaces) {
    for (const s of (await core.listNamespacedSecret({ namespace })).items) {
      // The keys that hold no secret, also under the names an output Secret's template gave them.
      const plain = ["url", "token_url", "client_id", "expires_at"];
      const renamed = renamedKeys(s.metadata?.annotations?.[keysAnnotation]);
      const notSecret = [...plain, ...plain.flatMap((k) => (renamed[k] ? [renamed[k]] : []))];
      for (const [key, raw] of Object.entries(s.data ?? {})) {
        if (notSecret.includes(key)) continue;
        const value = Buffer.from(raw, "base64")
          .toString()
          .replace(/^Authorization: Bearer /, "")
          .trim();
        if (value.length >= 16) values.add(value);
      }
    }
  }
  return [...values];
}

/** Finds leaks in `logs` and in what the operator wrote to the API server in `namespaces`. */
export async function findLeaks(
  kubeConfig: KubeConfig,
  namespaces: string[],
  logs: readonly string[],
  metricsText = "",
  extraSecrets: readonly string[] = [],
): Promise<Leak[]> {
  const texts: [string, string][] = [
    ...logs.map((line, i): [string, string] => [`log line ${i + 1}`, line]),
    ["metrics", metricsText],
    ...(await producedTexts(kubeConfig, namespaces)),
  ];
  const secrets = [...(await secretValues(kubeConfig, namespaces)), ...extraSecrets];
  const leaks: Leak[] = [];
  for (const [where, text] of texts) {
    if (hex64.test(text)) leaks.push({ where, what: "a 64-hex secret" });
    if (jwt.test(text)) leaks.push({ where, what: "a JWT" });
    for (const s of secrets)
      if (text.includes(s)) leaks.push({ where, what: `a value of a Secret (${s.length} chars)` });
  }
  return leaks;
}
