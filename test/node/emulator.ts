/**
 * The DataTrails emulator inside the node's cluster: a Deployment of the operator's own image
 * (`node dist/main.js emulator`) behind a Service with a fixed ClusterIP. The cluster has no DNS,
 * so connections and workloads name it by that address (`http://10.0.0.80`); kube-proxy carries
 * the calls to the pod, as it would for any Service.
 */
type Kubectl = (args: string[], input?: object) => Promise<string>;

/** The emulator's Service address and the admin integration it seeded. */
export interface InClusterEmulator {
  url: string;
  clientId: string;
  clientSecret: string;
}

/** The emulator's namespace. */
export const emulatorNamespace = "datatrails-emulator";
const clusterIp = "10.0.0.80";

/**
 * Applies the emulator's Deployment and Service (idempotent), waits for its pod and reads the
 * seeded admin credentials from its start-up line. Tokens live `tokenTtlSeconds`.
 */
export async function deployEmulator(
  kubectl: Kubectl,
  image: string,
  tokenTtlSeconds: number,
): Promise<InClusterEmulator> {
  const url = `http://${clusterIp}`;
  const labels = { app: "datatrails-emulator" };
  await kubectl(["apply", "-f", "-"], {
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: emulatorNamespace } },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "datatrails", namespace: emulatorNamespace },
        spec: { clusterIP: clusterIp, selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "datatrails", namespace: emulatorNamespace },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              containers: [
                {
                  name: "emulator",
                  image,
                  imagePullPolicy: "Never",
                  args: [
                    "emulator",
                    "--host=0.0.0.0",
                    "--port=8080",
                    `--public-url=${url}`,
                    `--token-ttl-seconds=${tokenTtlSeconds}`,
                    "--json",
                  ],
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    ],
  });
  await kubectl(["rollout", "status", "deployment/datatrails", "-n", emulatorNamespace, "--timeout=120s"]);
  const logs = await kubectl(["logs", "deployment/datatrails", "-n", emulatorNamespace]);
  const line = logs.split("\n").find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error("the emulator printed no start-up line");
  const details = JSON.parse(line) as { clientId: string; clientSecret: string };
  return { url, clientId: details.clientId, clientSecret: details.clientSecret };
}

/** A DataTrailsConnection to the in-cluster emulator and its admin Secret, in `namespace`. */
export function connectionTo(emulator: InClusterEmulator, namespace: string): object {
  return {
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "datatrails-admin", namespace },
        stringData: { client_id: emulator.clientId, client_secret: emulator.clientSecret },
      },
      {
        apiVersion: "datatrails.ai/v1alpha1",
        kind: "DataTrailsConnection",
        metadata: { name: "datatrails", namespace },
        spec: { url: emulator.url, credentialsSecretRef: { name: "datatrails-admin" } },
      },
      {
        apiVersion: "datatrails.ai/v1alpha1",
        kind: "DataTrailsIntegration",
        metadata: { name: "traffic-light-101", namespace },
        spec: { connectionRef: { name: "datatrails" }, displayName: `TrafficLight101 ${namespace}` },
      },
    ],
  };
}
