/**
 * What a roll of the operator's Deployment looks like from outside, sampled every half second until
 * stopped: the fewest of its pods Ready (and not on their way out) at once, and for every token
 * Secret in the cluster, the least time its token had left and whether it ever had expired.
 */
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";

/** What the samples saw. */
export interface RollWatch {
  samples: number;
  minReady: number;
  minLeftMs: number;
  /** namespace/name of every token Secret seen with an expired token. */
  expired: Set<string>;
  tokenSecrets: number;
}

/** Whether `pod` is Ready and not being deleted. */
export function servingPod(pod: V1Pod): boolean {
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
}

/** Starts sampling the pods matching `selector` in `namespace`; `stop()` resolves to the figures. */
export function watchRoll(
  core: CoreV1Api,
  namespace: string,
  selector: string,
): { stop(): Promise<RollWatch> } {
  const watched: RollWatch = {
    samples: 0,
    minReady: Number.POSITIVE_INFINITY,
    minLeftMs: Number.POSITIVE_INFINITY,
    expired: new Set<string>(),
    tokenSecrets: 0,
  };
  let rolling = true;
  const sampler = (async () => {
    while (rolling) {
      const [pods, secrets] = await Promise.all([
        core.listNamespacedPod({ namespace, labelSelector: selector }),
        core.listSecretForAllNamespaces(),
      ]);
      const now = Date.now();
      watched.minReady = Math.min(watched.minReady, pods.items.filter(servingPod).length);
      watched.tokenSecrets = 0;
      for (const secret of secrets.items) {
        const expiresAt = secret.data?.["expires_at"];
        if (expiresAt === undefined) continue;
        watched.tokenSecrets += 1;
        const left = Date.parse(Buffer.from(expiresAt, "base64").toString()) - now;
        watched.minLeftMs = Math.min(watched.minLeftMs, left);
        if (!(left > 0)) watched.expired.add(`${secret.metadata?.namespace}/${secret.metadata?.name}`);
      }
      watched.samples += 1;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    async stop() {
      rolling = false;
      await sampler;
      return watched;
    },
  };
}
