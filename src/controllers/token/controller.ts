/**
 * The BearerToken reconcile: gather (spec, token Secret, issuer inputs) → planRefresh (pure) →
 * fetch when due → afterRefresh (pure) → publish the Secret and the status.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  ConditionType,
  findCondition,
  managedByLabel,
  managedByValue,
  ownerLabel,
  Reason,
  type BearerToken,
  type BearerTokenStatus,
} from "../../api/v1alpha1/index.ts";
import type { Clock } from "../../k8s/clock.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import type { SecretStore } from "../../k8s/secrets.ts";
import type { WorkResult } from "../../k8s/work-queue.ts";
import { objectLogger, type Logger } from "../../observability/logger.ts";
import type { Metrics } from "../../observability/metrics.ts";
import { isTokenError } from "../../tokens/errors.ts";
import { issuerKind, type IssuerInputs } from "../../tokens/factory.ts";
import { jwtTimes, type TokenIssuer } from "../../tokens/issuer.ts";
import { tokenTimes, type RetryPolicy } from "../../tokens/schedule.ts";
import type { BearerTokenSpec } from "../../api/v1alpha1/bearer-token.ts";
import { splitKey } from "../controller.ts";
import type { Ownership } from "../ownership.ts";
import { claimProblem, mayWrite, ownershipOf } from "../secret-claim.ts";
import { afterRefresh, planRefresh, refusedStatus, steadyStatus } from "./decide.ts";
import { gatherToken, tokenWriter, type SecretLookup } from "./gather.ts";
import type { RefreshOutcome } from "./model.ts";
import { tokenSecretContent } from "./secret.ts";

/** What the BearerToken reconcile depends on. */
export interface TokenControllerDeps {
  /** The BearerToken cache. */
  getToken(namespace: string, name: string): BearerToken | undefined;
  lookupSecret: SecretLookup;
  ownership: Ownership;
  secrets: SecretStore;
  writeStatus(object: BearerToken, status: BearerTokenStatus): Promise<void>;
  events: EventRecorder;
  issuerFor(spec: BearerTokenSpec, inputs: IssuerInputs): TokenIssuer;
  /** Verifies a token as spec.verify asks; throws TokenError. */
  verify(token: string, options: NonNullable<BearerTokenSpec["verify"]>): Promise<unknown>;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
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

/** Builds the reconcile function of the BearerToken controller. */
export function tokenReconciler(deps: TokenControllerDeps): (key: string) => Promise<WorkResult> {
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const object = deps.getToken(namespace, name);
    if (!object || object.metadata.deletionTimestamp) return; // the token Secret goes with it (ownerReference)
    const log = objectLogger(deps.logger, { controller: "bearertoken", namespace, name });
    const now = new Date(deps.clock.now());
    const { observed, inputs } = await gatherToken(object, deps.lookupSecret, deps.ownership);
    const problem = claimProblem(object.spec.secretName, observed.secretClaim);
    if (problem) {
      const reason = observed.secretClaim.state === "held" ? Reason.SecretInUse : Reason.SecretNotOwned;
      const before = findCondition(object.status?.conditions, ConditionType.TokenReady);
      if (before?.reason !== reason || before.message !== problem) {
        deps.events.record(object as unknown as KubernetesObject, {
          type: "Warning",
          reason,
          action: "Refresh",
          note: problem,
        });
        log.info({ reason }, "token Secret is not ours; nothing written");
      }
      await deps.writeStatus(object, refusedStatus(observed, now, reason, problem));
      // The Secret's events wake it sooner (it is indexed by name); this is the fallback.
      return { requeueAfterMs: 60_000 };
    }
    const plan = planRefresh(observed, now);

    if (!plan.fetch) {
      await deps.writeStatus(object, steadyStatus(observed, now));
      if (observed.secret?.expiresAt) {
        deps.metrics?.tokenExpiryTimestampSeconds.set(
          { namespace, name },
          observed.secret.expiresAt.getTime() / 1000,
        );
      }
      return { requeueAfterMs: plan.requeueAfterMs };
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
    const result = afterRefresh(
      observed,
      fetched.outcome,
      new Date(deps.clock.now()),
      deps.retryPolicy,
      plan.cause,
    );
    const issuer = spec ? issuerKind(spec) : "unknown";
    deps.metrics?.tokenRefreshTotal.inc({
      namespace,
      issuer,
      result: !fetched.outcome.ok ? fetched.outcome.kind : result.publish ? "success" : "discarded",
    });

    if (
      result.publish &&
      fetched.outcome.ok &&
      "accessToken" in fetched &&
      spec &&
      observed.inputs.state === "ready"
    ) {
      const content = tokenSecretContent(
        fetched.accessToken ?? "",
        fetched.outcome,
        observed.inputs.version,
        object.metadata.generation,
      );
      const claim = observed.secretClaim;
      if (!mayWrite(claim)) throw new Error(`token Secret ${spec.secretName} is not ours`);
      const ownership = ownershipOf(tokenWriter(object), claim, spec.existingSecretPolicy ?? "Refuse");
      // An absent Secret is created, never applied: one that someone made a moment ago is not taken.
      const secret = {
        namespace,
        name: spec.secretName,
        labels: { [managedByLabel]: managedByValue, [ownerLabel]: `bearertoken.${name}` },
        annotations: { ...content.annotations, ...ownership.annotations },
        ownerReferences: ownership.ownerReferences,
        keepType: ownership.adopted,
        data: content.stringData,
      };
      await (claim.state === "free" ? deps.secrets.create(secret) : deps.secrets.apply(secret));
      deps.metrics?.tokenExpiryTimestampSeconds.set(
        { namespace, name },
        fetched.outcome.expiresAt.getTime() / 1000,
      );
      const wasReady =
        object.status?.conditions?.find((c) => c.type === "TokenReady")?.reason === "TokenValid";
      if (plan.cause !== "due" || !wasReady) {
        deps.events.record(object as unknown as KubernetesObject, {
          type: "Normal",
          reason: "TokenRefreshed",
          action: "Refresh",
          note: `Published a token valid until ${result.status.tokenExpiresAt ?? "?"} (${plan.cause}).`,
        });
      }
      log.debug({ cause: plan.cause, expiresAt: result.status.tokenExpiresAt }, "token refreshed");
    } else {
      const failure = result.status.lastFailure ?? "refresh failed";
      deps.events.record(object as unknown as KubernetesObject, {
        type: "Warning",
        reason: "TokenRefreshFailed",
        action: "Refresh",
        note: failure,
      });
      log.info({ cause: plan.cause, failure, retryInMs: result.requeueAfterMs }, "token refresh failed");
    }
    await deps.writeStatus(object, result.status);
    return { requeueAfterMs: result.requeueAfterMs };
  };
}
