/**
 * Carries out a BearerToken step that decide.ts chose: for a publish, the token Secret (created when
 * absent, applied when ours); then the Event, the status (written only when it changed) and the
 * expiry gauge.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { BearerToken, BearerTokenStatus } from "../../api/v1alpha1/index.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import type { SecretStore } from "../../k8s/secrets.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { TokenStep } from "./decide.ts";

/** What apply writes through. */
export interface TokenApplyDeps {
  secrets: SecretStore;
  events: EventRecorder;
  writeStatus(object: BearerToken, status: BearerTokenStatus): Promise<void>;
  metrics?: Metrics;
}

/** Writes what the step says, in order: the Secret, the Event, the status, the gauge. */
export async function applyTokenStep(
  object: BearerToken,
  step: TokenStep,
  deps: TokenApplyDeps,
): Promise<void> {
  if (step.kind === "publish")
    await (step.create ? deps.secrets.create(step.secret) : deps.secrets.apply(step.secret));
  if (step.event)
    deps.events.record(object as unknown as KubernetesObject, {
      type: step.event.type,
      reason: step.event.reason,
      action: "Refresh",
      note: step.event.note,
    });
  await deps.writeStatus(object, step.status);
  const expiresAt = step.kind === "publish" || step.kind === "wait" ? step.expiresAt : undefined;
  if (expiresAt)
    deps.metrics?.tokenExpiryTimestampSeconds.set(
      { namespace: object.metadata.namespace ?? "", name: object.metadata.name },
      expiresAt.getTime() / 1000,
    );
}
