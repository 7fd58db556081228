/**
 * The BearerToken reconcile: gather (spec, token Secret, issuer inputs) → beforeFetch (pure: refuse,
 * wait or fetch) → fetch (the issuer) → afterFetch (pure: publish or keep) → apply.ts carries the
 * step out (the Secret, the Event, the status).
 */
import type { BearerToken, BearerTokenStatus } from "../../api/v1alpha1/index.ts";
import type { Clock } from "../../k8s/clock.ts";
import { isAlreadyExists } from "../../k8s/errors.ts";
import type { SecretLookup } from "../../k8s/secret-cache.ts";
import { statusChanged } from "../../k8s/status.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import { issuerKind } from "../../tokens/factory.ts";
import type { RefreshRetryPolicy } from "../../tokens/schedule.ts";
import { splitKey } from "../controller.ts";
import type { Ownership } from "../ownership.ts";
import { claimProblem } from "../secret-claim.ts";
import { applyTokenStep, type TokenApplyDeps } from "./apply.ts";
import { afterFetch, beforeFetch, reshapeStep, type TokenStep } from "./decide.ts";
import type { TokenObserved } from "./model.ts";
import { fetchToken, gatherToken, type TokenSource } from "./gather.ts";

/** What the BearerToken reconcile depends on. */
interface TokenControllerDeps extends TokenApplyDeps, TokenSource {
  /** The BearerToken cache. */
  getToken(namespace: string, name: string): BearerToken | undefined;
  lookupSecret: SecretLookup;
  ownership: Ownership;
  clock: Clock;
  logger: Logger;
  retryPolicy?: RefreshRetryPolicy;
  /** A test-only fault point: called after a token is published; the operator may exit there. */
  crashPoint?(step: string): void;
  /** The BearerToken cache's updates, to forget a status written once the cache shows the write. */
  tokenUpdates?: { on(event: "update" | "delete", fn: (obj: BearerToken) => void): void };
}

/** Builds the reconcile function of the BearerToken controller. */
export function tokenReconciler(deps: TokenControllerDeps): (key: string) => Promise<WorkResult> {
  const now = () => new Date(deps.clock.now());
  // The status this controller last wrote, by key, while the cache still shows the version it was
  // written over: the reconcile its own writes wake (the token Secret's event) then sees that
  // status, finds nothing changed and writes nothing again.
  const written = new Map<string, { over: string | undefined; status: BearerTokenStatus }>();
  const current = (key: string, cached: BearerToken): BearerToken => {
    const mine = written.get(key);
    if (!mine) return cached;
    if (mine.over !== cached.metadata.resourceVersion) {
      written.delete(key);
      return cached;
    }
    return { ...cached, status: mine.status };
  };
  const forget = (obj: BearerToken) => {
    const key = `${obj.metadata.namespace ?? ""}/${obj.metadata.name}`;
    if (written.get(key)?.over !== obj.metadata.resourceVersion) written.delete(key);
  };
  deps.tokenUpdates?.on("update", forget);
  deps.tokenUpdates?.on("delete", forget);
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const cached = deps.getToken(namespace, name);
    if (!cached || cached.metadata.deletionTimestamp) {
      // The token Secret goes with it (ownerReference), and so does its gauge.
      written.delete(key);
      deps.metrics?.tokenExpiryTimestampSeconds.remove({ namespace, name });
      return;
    }
    const object = current(key, cached);
    const log = objectLogger(deps.logger, { controller: "bearertoken", namespace, name });

    const gathered = await gatherToken(object, deps.lookupSecret, deps.ownership);
    const { published } = gathered;
    let { observed } = gathered;
    const first = beforeFetch(observed, claimProblem(object.spec.secretName, observed.secretClaim), now());
    let step: TokenStep;
    if (first.kind === "fetch") {
      let fetched = await fetchToken(deps, observed, gathered.inputs);
      if (!fetched.ok && fetched.kind === "rejected") {
        // The cache may hold credentials rotated a moment ago: read them from the API server, and
        // ask once more only if they differ from the ones refused.
        const fresh = await gatherToken(
          object,
          (ns, n) => deps.lookupSecret(ns, n, { fresh: true }),
          deps.ownership,
        );
        if (inputsDiffer(observed, fresh.observed)) {
          observed = fresh.observed;
          fetched = await fetchToken(deps, observed, fresh.inputs);
        }
      }
      step = afterFetch(observed, fetched, now(), first.cause, deps.retryPolicy);
      deps.metrics?.tokenRefreshTotal.inc({
        namespace,
        issuer: observed.spec ? issuerKind(observed.spec) : "unknown",
        result: !fetched.ok ? fetched.kind : step.kind === "publish" ? "success" : "discarded",
      });
    } else if (first.kind === "reshape")
      // The one path that needs the token itself: a GET when the cache holds the Secret without it.
      step = reshapeStep(observed, await published(), now(), first.requeueAfterMs);
    else step = first;

    try {
      await applyTokenStep(object, step, {
        ...deps,
        writeStatus: async (obj, status) => {
          await deps.writeStatus(obj, status);
          if (statusChanged(obj.status, status))
            written.set(key, { over: cached.metadata.resourceVersion, status });
        },
      });
    } catch (err) {
      // A Secret of that name appeared before the create (one the caches had not seen yet): read
      // it, so that the retry sees whose it is and is refused or merges as the spec says.
      if (step.kind === "publish" && step.create && isAlreadyExists(err))
        await deps.lookupSecret(namespace, step.secret.name, { fresh: true });
      throw err;
    }
    if (step.kind === "publish") deps.crashPoint?.("after:PublishToken");

    if (step.kind === "refuse" && step.event)
      log.info({ reason: step.event.reason }, "token Secret is not ours; nothing written");
    else if (step.kind === "publish" && first.kind === "reshape")
      log.info("token Secret rewritten for spec.secretTemplate; token unchanged");
    else if (step.kind === "publish")
      log.debug(
        { cause: first.kind === "fetch" ? first.cause : undefined, expiresAt: step.status.tokenExpiresAt },
        "token refreshed",
      );
    else if (step.kind === "keep")
      log.info(
        {
          cause: first.kind === "fetch" ? first.cause : undefined,
          failure: step.status.lastFailure,
          retryInMs: step.requeueAfterMs,
        },
        "token refresh failed",
      );
    return { requeueAfterMs: step.requeueAfterMs };
  };
}

/** Whether a fresh read found other issuer inputs than the ones the issuer refused. */
function inputsDiffer(before: TokenObserved, after: TokenObserved): boolean {
  return (
    after.inputs.state === "ready" &&
    (before.inputs.state !== "ready" || before.inputs.version !== after.inputs.version)
  );
}
