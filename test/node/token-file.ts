/**
 * A pod that watches the token file the kubelet mounts, as a workload that rereads it for each call
 * does: every second it reads bearer-token.txt, logs when a new token first appears (its iat and
 * exp and the time, never the token) and calls DataTrails with it, logging the status. What it logs
 * is parsed into one figure per refresh.
 */

const watch = `const fs = require("node:fs");
  let last = "";
  setInterval(async () => {
    const line = fs.readFileSync("/var/run/secrets/datatrails/bearer-token.txt", "utf8").trim();
    const jwt = line.replace(/^Authorization: Bearer /, "");
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
    if (jwt !== last) { last = jwt; console.log("seen " + claims.iat + " " + claims.exp + " " + Date.now()); }
    const r = await fetch(process.env.DATATRAILS_URL + "/archivist/v2/assets?page_size=1", { headers: { authorization: line.replace(/^Authorization: /, "") } }).catch(() => ({ status: 0 }));
    console.log("call " + r.status);
  }, 1000);`;

/** The watcher Pod `name` in `namespace`, mounting `secretName`'s bearer-token.txt, calling `url`. */
export function tokenWatcherPod(o: {
  name: string;
  namespace: string;
  image: string;
  url: string;
  secretName: string;
}): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532 },
      containers: [
        {
          name: "watcher",
          image: o.image,
          imagePullPolicy: "Never",
          command: ["node", "-e", watch],
          env: [{ name: "DATATRAILS_URL", value: o.url }],
          volumeMounts: [{ name: "token", mountPath: "/var/run/secrets/datatrails", readOnly: true }],
        },
      ],
      volumes: [
        {
          name: "token",
          secret: {
            secretName: o.secretName,
            items: [{ key: "bearer-token.txt", path: "bearer-token.txt" }],
          },
        },
      ],
    },
  };
}

/** One token as the pod first read it. */
export interface SeenToken {
  iatMs: number;
  expMs: number;
  seenMs: number;
}

/** The tokens the watcher saw, in order, and the status of each of its calls. */
export function parseWatcherLog(log: string): { seen: SeenToken[]; calls: string[] } {
  const lines = log.split("\n");
  const seen = lines
    .filter((l) => l.startsWith("seen "))
    .map((l) => l.split(" ").map(Number))
    .map(([, iat = 0, exp = 0, at = 0]) => ({ iatMs: iat * 1000, expMs: exp * 1000, seenMs: at }));
  const calls = lines.filter((l) => l.startsWith("call ")).map((l) => l.slice(5));
  return { seen, calls };
}

/** What one refresh looked like from the pod. */
export interface Refresh {
  /** From the new token's issue (the operator writes the Secret moments later) to the pod's read. */
  delayMs: number;
  /** How long the previous token still had when the pod first read the new one. */
  marginMs: number;
  lifetimeMs: number;
  refreshedAfterMs: number;
}

/** One {@link Refresh} per token after the first. */
export function refreshes(seen: SeenToken[]): Refresh[] {
  return seen.slice(1).map((token, i) => {
    const previous = seen[i] as SeenToken;
    return {
      delayMs: token.seenMs - token.iatMs,
      marginMs: previous.expMs - token.seenMs,
      lifetimeMs: previous.expMs - previous.iatMs,
      refreshedAfterMs: token.iatMs - previous.iatMs,
    };
  });
}

/** The figures line the test prints. */
export function describeRefreshes(list: Refresh[], syncFrequency: string): string {
  const delays = list.map((r) => r.delayMs).sort((a, b) => a - b);
  return (
    `token file swaps on the node (kubelet syncFrequency ${syncFrequency}, ${list[0]?.lifetimeMs ?? 0} ms tokens): ` +
    `Secret-to-file delay min ${delays[0]} ms, median ${delays[Math.floor(delays.length / 2)]} ms, max ${delays.at(-1)} ms; ` +
    `refreshed after ${list.map((r) => r.refreshedAfterMs).join(", ")} ms; ` +
    `left of the old token when the pod read the new one: ${list.map((r) => r.marginMs).join(", ")} ms`
  );
}
