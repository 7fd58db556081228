/**
 * Names the operator writes onto Kubernetes objects: labels, annotations, the finalizer and the
 * server-side-apply field manager. Changing one is a breaking change for existing clusters.
 */

/** The field manager of every server-side apply the operator makes. */
export const fieldManager = "datatrails-operator";

/** Label on every Secret the operator writes; the operator watches Secrets by this label only. */
export const managedByLabel = "app.kubernetes.io/managed-by";
/** Value of {@link managedByLabel}. */
export const managedByValue = "datatrails-operator";

/** Label naming the object a Secret belongs to, `<kind>.<name>` (lower case), for quick lookups. */
export const ownerLabel = "datatrails.ai/owner";

/**
 * On-demand control (docs/control.md): annotations acted on once per value. Any new value (an
 * RFC 3339 time is suggested) asks once; the value acted on is recorded in status, so the same value
 * again, or a restart, does nothing. While the object is suspended a request waits.
 */
/** Annotation that requests a secret rotation (DataTrailsIntegration): set it to any new value. */
export const rotateAnnotation = "datatrails.ai/rotate";
/** Annotation that requests a token refresh now (BearerToken, or an integration for its token). */
export const refreshAnnotation = "datatrails.ai/refresh-requested-at";

/**
 * Annotation on a DataTrailsIntegration recording the first create of its application as started
 * (`{"displayName":…,"startedAt":…}`), written with the finalizer before the create, in one patch.
 * The create is pending while the status records no application identity (docs/design.md).
 */
export const createStartedAnnotation = "datatrails.ai/create-started";

/** Annotation on the token Secret with the token's expiry (RFC 3339). */
export const expiresAtAnnotation = "datatrails.ai/expires-at";

/** Finalizer that holds a DataTrailsIntegration until its application is deleted (or orphaned). */
export const applicationFinalizer = "datatrails.ai/application";

/** Keys of the credentials Secret. */
export const credentialsKeys = {
  clientId: "client_id",
  clientSecret: "client_secret",
  tokenUrl: "token_url",
  url: "url",
} as const;

/** Keys of the token Secret. */
export const tokenKeys = {
  accessToken: "access_token",
  bearerFile: "bearer-token.txt",
  expiresAt: "expires_at",
} as const;

/** Path of the DataTrails appidp token endpoint, relative to the base URL. */
export const dataTrailsTokenPath = "/archivist/iam/v1/appidp/token";

/** Pod-template annotation of a workload rolled by spec.reload: when (RFC 3339), as kubectl's restartedAt. */
export const restartedAtAnnotation = "datatrails.ai/restartedAt";
/**
 * Prefix of the pod-template annotations spec.reload writes, one per object that names the workload:
 * `integration.reload.datatrails.ai/<name>` or `bearertoken.reload.datatrails.ai/<name>`, whose value
 * is the version of the credentials the workload was rolled for (a digest, never a secret).
 */
export const reloadAnnotationSuffix = "reload.datatrails.ai";
