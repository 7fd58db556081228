/**
 * Secret rotation decisions (docs/design.md, "Rotation"): whether a secret is regenerated and why,
 * what a rotation interrupted by a crash already did, and the rotation's steps: mark
 * status.pendingRotation (with the secret's valid_from before it and the request it answers),
 * regenerate, write the credentials Secret, record. Pure.
 */
import {
  rotateAnnotation,
  type DataTrailsIntegration,
  type IntegrationSpec,
} from "../../api/v1alpha1/index.ts";
import type { Action, ApplicationView, IntegrationObserved, RegenerateCause } from "./model.ts";
import type { Draft } from "./plan-status.ts";
import { pendingRotationHappened, rotationDueAt, rotationRequested, secretIsPresent } from "./predicates.ts";

/** Where rotation stands: what a pending rotation already did, and the request not yet acted on. */
interface RotationState {
  /** A rotation whose regenerate happened before a crash: its secret is in hand, it is done. */
  finished: boolean;
  /** The last datatrails.ai/rotate value acted on (a finished rotation's counts). */
  lastDone: string | undefined;
  /** A datatrails.ai/rotate value not yet acted on. */
  rotateRequest: string | undefined;
}

export function rotationState(obj: DataTrailsIntegration, app: ApplicationView | undefined): RotationState {
  // What a rotation that happened answered counts as done, or the same request would regenerate twice.
  const finished = app !== undefined && pendingRotationHappened(obj, app);
  const lastDone = finished
    ? (obj.status?.pendingRotation?.request ?? obj.status?.lastRotateRequest)
    : obj.status?.lastRotateRequest;
  return { finished, lastDone, rotateRequest: rotationRequested(obj, lastDone) };
}

/** Why the application's secret must be regenerated now, if it must. */
export function regenerateCause(
  o: IntegrationObserved,
  spec: IntegrationSpec,
  app: ApplicationView,
  rotation: RotationState,
  now: Date,
): RegenerateCause | undefined {
  if (!secretIsPresent(o.credentials, app)) return o.identity?.source === "adopt" ? "adopted" : "lost";
  if (o.secretCheck.state === "rejected") return "rejected";
  if (rotation.rotateRequest !== undefined) return "requested";
  const due = rotationDueAt(spec, app.validUntil);
  return due && due.getTime() <= now.getTime() ? "expiring" : undefined;
}

/**
 * The rotation's part of a plan for an existing application: a finished rotation recorded; a
 * regenerate with its write-ahead mark (kept while a pending one has not happened yet), the Secret
 * and the Event; or, with nothing to regenerate, the Secret's url, token_url and shape kept current.
 */
export function rotationActions(
  o: IntegrationObserved,
  d: Draft,
  app: ApplicationView,
  regenerate: RegenerateCause | undefined,
  rotation: RotationState,
  where: { url: string; tokenUrl: string; stamp: string },
  actions: Action[],
): void {
  const { finished, lastDone, rotateRequest } = rotation;
  const { url, tokenUrl } = where;
  if (finished) {
    if (lastDone !== undefined) d.status.lastRotateRequest = lastDone;
    if (app.validFrom) d.status.secretRotatedAt = app.validFrom;
  }
  if (regenerate) {
    if (!o.object.status?.pendingRotation || finished) {
      actions.push({
        type: "MarkPendingRotation",
        at: where.stamp,
        ...(app.validFrom ? { previousValidFrom: app.validFrom } : {}),
        ...(rotateRequest !== undefined ? { request: rotateRequest } : {}),
      });
    }
    actions.push(
      { type: "RegenerateSecret", identity: app.identity, cause: regenerate },
      { type: "WriteCredentials", url, tokenUrl, secretFrom: "result" },
      {
        type: "RecordEvent",
        eventType: "Normal",
        reason: regenerate === "lost" || regenerate === "rejected" ? "SecretRecovered" : "SecretRotated",
        note:
          regenerate === "requested"
            ? `Regenerated the client secret (requested: ${rotateAnnotation}=${rotateRequest ?? ""}).`
            : `Regenerated the client secret (${regenerate}).`,
      },
    );
    if (rotateRequest !== undefined) d.status.lastRotateRequest = rotateRequest;
    return;
  }
  delete d.status.pendingRotation;
  const creds = o.credentials;
  // A changed template (or a hand-edited rendering) is rewritten from the values the Secret holds.
  if (creds && (creds.url !== url || creds.tokenUrl !== tokenUrl || creds.shapeStale)) {
    actions.push({ type: "WriteCredentials", url, tokenUrl, secretFrom: "existing" });
  } else if (creds) {
    d.status.credentialsSecretVersion = creds.resourceVersion;
  }
}
