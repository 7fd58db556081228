/**
 * Names and predicates the integration controller decides with: which Secrets, which claims, whether
 * DataTrails must be searched or the secret checked, whether an object is settled, when a rotation
 * is due. Pure functions of the object, what was observed and the time; decide.ts composes them.
 */
import {
  applicationFinalizer,
  ConditionType,
  createStartedAnnotation,
  findCondition,
  ownerClaimName,
  rotateAnnotation,
  type IntegrationSpec,
} from "../../api/v1alpha1/index.ts";
import type { DataTrailsIntegration } from "../../api/v1alpha1/integration.ts";
import type { ApplicationView, ChildTokenView, CredentialsSecretView, IdentitySource } from "./model.ts";

const dayMs = 24 * 60 * 60 * 1000;

/** The name of the credentials Secret. */
export function credentialsSecretName(obj: DataTrailsIntegration, spec: IntegrationSpec | undefined): string {
  return spec?.credentialsSecret?.name ?? `${obj.metadata.name}-credentials`;
}

/** The name of the token Secret (and of the child BearerToken, which is named after the integration). */
export function tokenSecretName(obj: DataTrailsIntegration, spec: IntegrationSpec | undefined): string {
  return spec?.token?.secretName ?? `${obj.metadata.name}-token`;
}

/** The claims the application must carry: the user's, plus the ownership claim. */
export function desiredClaims(spec: IntegrationSpec, uid: string): Record<string, string> {
  return { ...(spec.customClaims ?? {}), [ownerClaimName]: uid };
}

/** Where to look for the application before any lookup: status, then spec.adopt, then the credentials Secret. */
export function identityCandidate(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec | undefined,
  credentials: CredentialsSecretView | undefined,
): { value: string; source: IdentitySource } | undefined {
  if (obj.status?.applicationIdentity) return { value: obj.status.applicationIdentity, source: "status" };
  if (spec?.adopt) return { value: spec.adopt.identity, source: "adopt" };
  if (credentials?.clientId) return { value: `applications/${credentials.clientId}`, source: "secret" };
  return undefined;
}

/**
 * The create this object records as started and not finished: status.pendingCreate, or else the
 * create-started annotation while the status records no application identity. The display name is
 * absent when the annotation cannot be read (the spec's is searched for then).
 */
export function pendingCreateOf(
  obj: DataTrailsIntegration,
): { displayName?: string; startedAt?: string } | undefined {
  const inStatus = obj.status?.pendingCreate;
  if (inStatus)
    return {
      startedAt: inStatus.startedAt,
      ...(inStatus.displayName ? { displayName: inStatus.displayName } : {}),
    };
  const raw = obj.metadata.annotations?.[createStartedAnnotation];
  if (raw === undefined || obj.status?.applicationIdentity) return undefined;
  try {
    const mark = JSON.parse(raw) as { displayName?: unknown; startedAt?: unknown };
    return {
      ...(typeof mark.displayName === "string" ? { displayName: mark.displayName } : {}),
      ...(typeof mark.startedAt === "string" ? { startedAt: mark.startedAt } : {}),
    };
  } catch {
    return {};
  }
}

/** A create may have happened without its result being recorded: search DataTrails for it. */
export function needsSearch(obj: DataTrailsIntegration, identityKnown: boolean): boolean {
  return !identityKnown && pendingCreateOf(obj) !== undefined;
}

/** The applications among `apps` that this object created (they carry its UID in the ownership claim). */
export function ownedBy(apps: readonly ApplicationView[], uid: string): ApplicationView[] {
  return apps.filter((a) => a.customClaims[ownerClaimName] === uid);
}

/** Whether the credentials Secret holds a secret for this application at all. */
export function secretIsPresent(
  credentials: CredentialsSecretView | undefined,
  app: ApplicationView,
): boolean {
  return credentials !== undefined && credentials.hasClientSecret && credentials.clientId === app.clientId;
}

/**
 * Whether the secret in the credentials Secret must be tried at the token endpoint: it changed since
 * the operator wrote it (a user edit, or a write whose recording a crash interrupted), or a
 * regeneration may have invalidated it.
 */
export function needsSecretCheck(
  obj: DataTrailsIntegration,
  credentials: CredentialsSecretView | undefined,
  app: ApplicationView,
): boolean {
  if (!secretIsPresent(credentials, app)) return false;
  return (
    credentials?.resourceVersion !== obj.status?.credentialsSecretVersion ||
    obj.status?.pendingRotation !== undefined
  );
}

/**
 * Whether an integration can be trusted without asking DataTrails, for now: Ready for its current
 * generation, nothing pending or requested, rotation not due, its credentials Secret exactly as the
 * operator last wrote it and its token child in place. A restarted operator checks such objects
 * against DataTrails later, spread over the resync interval, instead of all at once (a restart costs
 * nothing; design.md invariant 4).
 */
export function isSettled(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec | undefined,
  credentials: CredentialsSecretView | undefined,
  token: ChildTokenView,
  now: Date,
): boolean {
  const status = obj.status;
  const ready = findCondition(status?.conditions, ConditionType.Ready);
  if (
    !spec ||
    obj.metadata.deletionTimestamp ||
    !(obj.metadata.finalizers ?? []).includes(applicationFinalizer)
  )
    return false;
  if (ready?.status !== "True" || ready.observedGeneration !== obj.metadata.generation) return false;
  if (
    status?.observedGeneration !== obj.metadata.generation ||
    pendingCreateOf(obj) ||
    status.pendingRotation ||
    status.accessPolicies?.some((e) => e.identity === undefined)
  )
    return false;
  if (rotationRequested(obj) !== undefined) return false;
  const due = rotationDueAt(spec, status.secretValidUntil);
  if (due && due.getTime() <= now.getTime()) return false;
  if (!credentials || credentials.resourceVersion !== status.credentialsSecretVersion) return false;
  if (credentials.shapeStale) return false;
  const wantsToken = spec.token?.enabled !== false;
  return wantsToken ? token.exists && token.upToDate : !token.exists;
}

/**
 * How long a restarted operator waits before checking a settled integration against DataTrails:
 * a point between 10 % and 100 % of the resync interval, fixed per object by its UID. Nothing is
 * checked in the first tenth, so a restart (or a rollout) asks DataTrails nothing at once, and the
 * checks that follow are spread evenly instead of arriving together.
 */
export function settledCheckDelayMs(fraction: number, resyncIntervalMs: number): number {
  const clamped = Math.min(1, Math.max(0, fraction));
  return Math.max(1000, Math.floor(resyncIntervalMs * (0.1 + 0.9 * clamped)));
}

/** When the secret is due for rotation under the policy, or undefined when never. */
export function rotationDueAt(spec: IntegrationSpec, validUntil: string | undefined): Date | undefined {
  const policy = spec.secretRotation?.policy ?? "BeforeExpiry";
  if (policy === "Never" || !validUntil) return undefined;
  const renewBeforeDays = spec.secretRotation?.renewBeforeDays ?? 30;
  return new Date(Date.parse(validUntil) - renewBeforeDays * dayMs);
}

/** Whether the datatrails.ai/rotate annotation asks for a rotation not yet done (given the last one done). */
export function rotationRequested(
  obj: DataTrailsIntegration,
  lastDone = obj.status?.lastRotateRequest,
): string | undefined {
  const value = obj.metadata.annotations?.[rotateAnnotation];
  return value !== undefined && value !== lastDone ? value : undefined;
}

/**
 * Whether a regeneration marked in status.pendingRotation happened before the operator stopped: the
 * application's secret then has another valid_from than the one recorded in the mark.
 */
export function pendingRotationHappened(obj: DataTrailsIntegration, app: ApplicationView): boolean {
  const mark = obj.status?.pendingRotation;
  return (
    mark?.previousValidFrom !== undefined &&
    app.validFrom !== undefined &&
    app.validFrom !== mark.previousValidFrom
  );
}
