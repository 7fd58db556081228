/**
 * The BearerToken reconcile: gather (spec, token Secret, issuer inputs) → beforeFetch (pure: refuse,
 * wait or fetch) → fetch → afterFetch (pure: publish or keep) → apply.ts writes the Secret, the
 * Event and the status.
 */
import type { BearerToken, BearerTokenStatus } from "../../api/v1alpha1/index.ts";
import type { Clock } from "../../k8s/clock.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import { isTokenError } from "../../tokens/errors.ts";
import { issuerKind, type IssuerInputs } from "../../tokens/factory.ts";
import { jwtTimes, type TokenIssuer } from "../../tokens/issuer.ts";
import { tokenTimes, type RefreshRetryPolicy as RetryPolicy } from "../../tokens/schedule.ts";
import type { BearerTokenSpec } from "../../api/v1alpha1/bearer-token.ts";
import { splitKey } from "../controller.ts";
import type { Ownership } from "../ownership.ts";
import { claimProblem } from "../secret-claim.ts";
import { finishStep, publishToken, type TokenApplyDeps } from "./apply.ts";
import { afterFetch, beforeFetch } from "./decide.ts";
import { gatherToken, type SecretLookup } from "./gather.ts";
import type { RefreshOutcome } from "./model.ts";

/** What the BearerToken reconcile depends on. */
export interface TokenControllerDeps extends TokenApplyDeps {
  /** The BearerToken cache. */
  getToken(namespace: string, name: string): BearerToken | undefined;
  lookupSecret: SecretLookup;
  ownership: Ownership;
  issuerFor(spec: BearerTokenSpec, inputs: IssuerInputs): TokenIssuer;
  /** Verifies a token as spec.verify asks; throws TokenError. */
  verify(token: string, options: NonNullable<BearerTokenSpec["verify"]>): Promise<unknown>;
  clock: Clock;
  logger: Logger;
  retryPolicy?: RetryPolicy;
}

async function fetchToken(
  deps: TokenControllerDeps,
  spec: BearerTokenSpec,
  inputs: IssuerInputs | undefined,
  inputsProblem: string,
) {
  if (!inputs) return { outcome: { ok: false, kind: "inputs", message: inputsProblem } as const };
  try {
    const issued = await deps.issuerFor(spec, inputs).issue();
    // A token that fails verification is never published: the old one stays.
    if (spec.verify) await deps.verify(issued.accessToken, spec.verify);
    const { exp } = jwtTimes(issued.accessToken);
    const times = tokenTimes(issued.receivedAt, issued.expiresInSeconds, exp);
    return { outcome: { ok: true, ...times } as const, accessToken: issued.accessToken };
  } catch (err) {
    if (!isTokenError(err)) throw err;
    const kind =
      err.code === "Rejected"
        ? "rejected"
        : err.code === "VerificationFailed"
          ? "verification"
          : err.code === "InvalidInput"
            ? "invalid"
            : "unavailable";
    const outcome: RefreshOutcome = {
      ok: false,
      kind,
      message: err.message,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    };
    return { outcome };
  }
}

/** Builds the reconcile function of the BearerToken controller: gather → decide → apply, twice. */
export function tokenReconciler(deps: TokenControllerDeps): (key: string) => Promise<WorkResult> {
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const object = deps.getToken(namespace, name);
    if (!object || object.metadata.deletionTimestamp) return; // the token Secret goes with it (ownerReference)
    const log = objectLogger(deps.logger, { controller: "bearertoken", namespace, name });
    const { observed, inputs } = await gatherToken(object, deps.lookupSecret, deps.ownership);
    const problem = claimProblem(object.spec.secretName, observed.secretClaim);
    const first = beforeFetch(observed, problem, new Date(deps.clock.now()));
    if (first.kind === "refuse") {
      if (first.event) log.info({ reason: first.event.reason }, "token Secret is not ours; nothing written");
      await finishStep(object, first, deps, undefined);
      return { requeueAfterMs: first.requeueAfterMs };
    }
    if (first.kind === "wait") {
      await finishStep(object, first, deps, observed.secret?.expiresAt);
      return { requeueAfterMs: first.requeueAfterMs };
    }

    const spec = observed.spec;
    const fetched = spec
      ? await fetchToken(
          deps,
          spec,
          inputs,
          observed.inputs.state === "failed" ? observed.inputs.message : "",
        )
      : { outcome: { ok: false, kind: "invalid", message: observed.specError ?? "invalid spec" } as const };
    const step = afterFetch(
      observed,
      fetched.outcome,
      new Date(deps.clock.now()),
      first.cause,
      deps.retryPolicy,
    );
    deps.metrics?.tokenRefreshTotal.inc({
      namespace,
      issuer: spec ? issuerKind(spec) : "unknown",
      result: !fetched.outcome.ok ? fetched.outcome.kind : step.kind === "publish" ? "success" : "discarded",
    });
    if (
      step.kind === "publish" &&
      fetched.outcome.ok &&
      "accessToken" in fetched &&
      spec &&
      observed.inputs.state === "ready"
    ) {
      await publishToken(
        object,
        {
          spec,
          claim: observed.secretClaim,
          accessToken: fetched.accessToken ?? "",
          times: fetched.outcome,
          inputsVersion: observed.inputs.version,
        },
        deps,
      );
      await finishStep(object, step, deps, fetched.outcome.expiresAt);
      log.debug({ cause: first.cause, expiresAt: step.status.tokenExpiresAt }, "token refreshed");
    } else {
      await finishStep(
        object,
        step.kind === "keep" ? step : { ...step, event: refreshFailed(step.status) },
        deps,
        undefined,
      );
      log.info(
        { cause: first.cause, failure: step.status.lastFailure, retryInMs: step.requeueAfterMs },
        "token refresh failed",
      );
    }
    return { requeueAfterMs: step.requeueAfterMs };
  };
}

/** The Warning of a refresh that published nothing. */
function refreshFailed(status: BearerTokenStatus) {
  return {
    type: "Warning",
    reason: "TokenRefreshFailed",
    note: status.lastFailure ?? "refresh failed",
  } as const;
}
