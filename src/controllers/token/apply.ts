/**
 * Carries out a BearerToken step: the token Secret (created when absent, applied when ours, with
 * its holder and ownership metadata), the Event, the status, the expiry gauge.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  managedByLabel,
  managedByValue,
  ownerLabel,
  type BearerToken,
  type BearerTokenSpec,
  type BearerTokenStatus,
} from "../../api/v1alpha1/index.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import type { SecretStore } from "../../k8s/secrets.ts";
import type { Metrics } from "../../observability/metrics.ts";
import { mayWrite, ownershipOf, type SecretClaim } from "../secret-claim.ts";
import type { TokenEvent } from "./decide.ts";
import { tokenWriter } from "./gather.ts";
import { tokenSecretContent } from "./secret.ts";

/** What apply writes through. */
export interface TokenApplyDeps {
  secrets: SecretStore;
  events: EventRecorder;
  writeStatus(object: BearerToken, status: BearerTokenStatus): Promise<void>;
  metrics?: Metrics;
}

/** A token to publish, with what the Secret records about it. */
export interface Publication {
  spec: BearerTokenSpec;
  claim: SecretClaim;
  accessToken: string;
  times: { issuedAt: Date; expiresAt: Date };
  inputsVersion: string;
}

/** Writes the token Secret: created when absent (never applied over a Secret made a moment ago). */
export async function publishToken(object: BearerToken, p: Publication, deps: TokenApplyDeps): Promise<void> {
  if (!mayWrite(p.claim)) throw new Error(`token Secret ${p.spec.secretName} is not ours`);
  const content = tokenSecretContent(p.accessToken, p.times, p.inputsVersion, object.metadata.generation);
  const ownership = ownershipOf(tokenWriter(object), p.claim, p.spec.existingSecretPolicy ?? "Refuse");
  const secret = {
    namespace: object.metadata.namespace ?? "",
    name: p.spec.secretName,
    labels: { [managedByLabel]: managedByValue, [ownerLabel]: `bearertoken.${object.metadata.name}` },
    annotations: { ...content.annotations, ...ownership.annotations },
    ownerReferences: ownership.ownerReferences,
    keepType: ownership.adopted,
    data: content.stringData,
  };
  await (p.claim.state === "free" ? deps.secrets.create(secret) : deps.secrets.apply(secret));
}

/** Records the step's Event (if any), writes its status (only when it changed) and the expiry gauge. */
export async function finishStep(
  object: BearerToken,
  step: { status: BearerTokenStatus; event?: TokenEvent },
  deps: TokenApplyDeps,
  expiresAt: Date | undefined,
): Promise<void> {
  if (step.event)
    deps.events.record(object as unknown as KubernetesObject, {
      type: step.event.type,
      reason: step.event.reason,
      action: "Refresh",
      note: step.event.note,
    });
  await deps.writeStatus(object, step.status);
  if (expiresAt)
    deps.metrics?.tokenExpiryTimestampSeconds.set(
      { namespace: object.metadata.namespace ?? "", name: object.metadata.name },
      expiresAt.getTime() / 1000,
    );
}
