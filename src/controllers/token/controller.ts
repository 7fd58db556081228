/**
 * The BearerToken reconcile: gather (spec, token Secret, issuer inputs) → beforeFetch (pure: refuse,
 * wait or fetch) → fetch (the issuer) → afterFetch (pure: publish or keep) → apply.ts carries the
 * step out (the Secret, the Event, the status).
 */
import type { BearerToken } from "../../api/v1alpha1/index.ts";
import type { Clock } from "../../k8s/clock.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import { issuerKind } from "../../tokens/factory.ts";
import type { RefreshRetryPolicy } from "../../tokens/schedule.ts";
import { splitKey } from "../controller.ts";
import type { Ownership } from "../ownership.ts";
import { claimProblem } from "../secret-claim.ts";
import { applyTokenStep, type TokenApplyDeps } from "./apply.ts";
import { afterFetch, beforeFetch, reshapeStep, type TokenStep } from "./decide.ts";
import { fetchToken, gatherToken, type SecretLookup, type TokenSource } from "./gather.ts";

/** What the BearerToken reconcile depends on. */
interface TokenControllerDeps extends TokenApplyDeps, TokenSource {
  /** The BearerToken cache. */
  getToken(namespace: string, name: string): BearerToken | undefined;
  lookupSecret: SecretLookup;
  ownership: Ownership;
  clock: Clock;
  logger: Logger;
  retryPolicy?: RefreshRetryPolicy;
}

/** Builds the reconcile function of the BearerToken controller. */
export function tokenReconciler(deps: TokenControllerDeps): (key: string) => Promise<WorkResult> {
  const now = () => new Date(deps.clock.now());
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const object = deps.getToken(namespace, name);
    if (!object || object.metadata.deletionTimestamp) {
      // The token Secret goes with it (ownerReference), and so does its gauge.
      deps.metrics?.tokenExpiryTimestampSeconds.remove({ namespace, name });
      return;
    }
    const log = objectLogger(deps.logger, { controller: "bearertoken", namespace, name });

    const { observed, inputs, published } = await gatherToken(object, deps.lookupSecret, deps.ownership);
    const first = beforeFetch(observed, claimProblem(object.spec.secretName, observed.secretClaim), now());
    let step: TokenStep;
    if (first.kind === "fetch") {
      const fetched = await fetchToken(deps, observed, inputs);
      step = afterFetch(observed, fetched, now(), first.cause, deps.retryPolicy);
      deps.metrics?.tokenRefreshTotal.inc({
        namespace,
        issuer: observed.spec ? issuerKind(observed.spec) : "unknown",
        result: !fetched.ok ? fetched.kind : step.kind === "publish" ? "success" : "discarded",
      });
    } else if (first.kind === "reshape") step = reshapeStep(observed, published, now(), first.requeueAfterMs);
    else step = first;

    await applyTokenStep(object, step, deps);

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
