/**
 * A real watch on a collection that calls back for every version it is sent, resumed from the last
 * resourceVersion when the server ends it (started over on 410 Gone), so a benchmark sees every
 * write and the time it was delivered.
 */
import { Watch, type KubeConfig } from "@kubernetes/client-node";

/** One watch event. */
export interface WatchEvent<T> {
  atMs: number;
  phase: string;
  object: T;
}

/** A running watch. */
export interface Watching {
  restarts(): number;
  stop(): void;
}

/** Watches `path` (optionally narrowed by a label selector) until stopped. */
export async function watchCollection<T extends { metadata?: { resourceVersion?: string } }>(
  kubeConfig: KubeConfig,
  path: string,
  onEvent: (e: WatchEvent<T>) => void,
  labelSelector?: string,
): Promise<Watching> {
  const watch = new Watch(kubeConfig);
  let stopping = false;
  let restarts = 0;
  let resourceVersion: string | undefined;
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    let gone = false;
    controller = await watch.watch(
      path,
      {
        ...(labelSelector ? { labelSelector } : {}),
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      (phase, object: T & { code?: number }) => {
        if (phase === "ERROR") {
          if (object.code === 410) gone = true;
          return;
        }
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        onEvent({ atMs: Date.now(), phase, object });
      },
      () => {
        if (stopping) return;
        restarts += 1;
        if (gone) resourceVersion = undefined;
        resume();
      },
    );
  };
  const resume = (): void => {
    setTimeout(() => {
      if (!stopping) start().catch(resume);
    }, 100);
  };
  await start();
  return {
    restarts: () => restarts,
    stop() {
      stopping = true;
      controller?.abort();
    },
  };
}

/** An integration as the benchmarks read it. */
export interface IntegrationLike {
  metadata: { name: string; generation?: number; resourceVersion?: string };
  status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] };
}

/** Ready=True for the current generation. */
export function isReady(o: IntegrationLike): boolean {
  const c = o.status?.conditions?.find((x) => x.type === "Ready");
  return c?.status === "True" && (c.observedGeneration ?? o.metadata.generation) === o.metadata.generation;
}

/**
 * Tracks when each integration in a namespace first became Ready. `waitFor(n)` resolves when n are
 * Ready (or rejects after `timeoutMs`).
 */
export async function readyTracker(kubeConfig: KubeConfig, namespace: string) {
  const readyAt = new Map<string, number>();
  const waiters: { n: number; done: () => void }[] = [];
  const watching = await watchCollection<IntegrationLike>(
    kubeConfig,
    `/apis/datatrails.ai/v1alpha1/namespaces/${namespace}/datatrailsintegrations`,
    (e) => {
      if (e.phase === "DELETED" || readyAt.has(e.object.metadata.name) || !isReady(e.object)) return;
      readyAt.set(e.object.metadata.name, e.atMs);
      for (const w of waiters.filter((x) => readyAt.size >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done();
      }
    },
  );
  return {
    readyAt,
    stop: () => watching.stop(),
    waitFor(n: number, timeoutMs: number): Promise<void> {
      if (readyAt.size >= n) return Promise.resolve();
      return new Promise((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`only ${readyAt.size} of ${n} Ready after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          done: () => {
            clearTimeout(timer);
            done();
          },
        });
      });
    },
  };
}
