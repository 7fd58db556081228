/**
 * Reads what a connection check needs and tries the connection: the admin Secret (in the
 * connection's own namespace, or the one a cluster connection names), then the admin credentials
 * at the DataTrails token endpoint, then one cheap OWNER-only call. What went wrong is recorded as
 * data; decide.ts maps it to a reason.
 */
import type { V1Secret } from "@kubernetes/client-node";
import {
  clusterConnectionSpec,
  connectionSpec,
  type ClusterDataTrailsConnection,
  type DataTrailsConnection,
  specProblems,
} from "../../api/v1alpha1/index.ts";
import type { DataTrailsApi } from "../../datatrails/api.ts";
import { isDataTrailsError, type DataTrailsErrorCode } from "../../datatrails/errors.ts";
import { KubeError } from "../../k8s/errors.ts";
import { decodeSecretData } from "../../k8s/secrets.ts";
import type { ResolvedConnection } from "../integration/gather.ts";

/** The two connection kinds. */
export type ConnectionKind = "DataTrailsConnection" | "ClusterDataTrailsConnection";

/** A connection of either kind. */
export type ConnectionObject = DataTrailsConnection | ClusterDataTrailsConnection;

/** The two DataTrails calls a check makes: the port, narrowed. */
export type ConnectionProbeApi = Pick<DataTrailsApi, "getToken" | "listApplicationsPage">;

/** What gather reads through. */
export interface ConnectionGatherDeps {
  lookupSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  apiFor(connection: ResolvedConnection): ConnectionProbeApi;
}

/** Where a connection's admin credentials are. */
interface AdminSecretRef {
  namespace: string;
  name: string;
  clientIdKey: string;
  clientSecretKey: string;
}

/** What a connection's spec says, parsed, or why it cannot be used. */
type ParsedConnection =
  | { valid: true; url: string; requestsPerSecond: number; secret: AdminSecretRef }
  | { valid: false; message: string };

/** What trying the connection found. Never holds a secret or a token. */
export type ConnectionCheck =
  | { state: "invalidSpec"; message: string }
  /** `missingKeys` is empty when the Secret itself is missing; `unreadable` when RBAC refused the read. */
  | { state: "secretMissing"; secret: string; missingKeys: string[]; unreadable?: boolean }
  | {
      state: "failed";
      /** `token`: at the token endpoint; `owner`: the OWNER-only call. */
      step: "token" | "owner";
      url: string;
      clientId: string;
      code: DataTrailsErrorCode;
      status?: number;
      message: string;
      retryAfterMs?: number;
    }
  | { state: "connected"; url: string; clientId: string };

/** The observed state of one connection. */
export interface ConnectionObserved {
  kind: ConnectionKind;
  object: ConnectionObject;
  check: ConnectionCheck;
  /** resourceVersion of the admin Secret read, when there is one. */
  secretVersion?: string;
}

/**
 * The admin Secret, read: what to try (kept out of the observed state, which is logged), or the
 * check's outcome already (an invalid spec, a missing Secret or key).
 */
type AdminSecretRead =
  | { state: "failed"; check: ConnectionCheck }
  | { state: "ready"; secretVersion: string; target: ResolvedConnection };

/**
 * The parsed spec. A namespaced connection's Secret is always in its own namespace (tenancy); a
 * cluster connection names the Secret's namespace itself.
 */
function parseConnection(kind: ConnectionKind, obj: ConnectionObject): ParsedConnection {
  if (kind === "ClusterDataTrailsConnection") {
    const parsed = clusterConnectionSpec.safeParse(obj.spec);
    if (!parsed.success) return { valid: false, message: specProblem(kind, obj, parsed.error.issues) };
    return {
      valid: true,
      url: parsed.data.url.replace(/\/+$/, ""),
      requestsPerSecond: parsed.data.requestsPerSecond,
      secret: parsed.data.credentialsSecretRef,
    };
  }
  const parsed = connectionSpec.safeParse(obj.spec);
  if (!parsed.success) return { valid: false, message: specProblem(kind, obj, parsed.error.issues) };
  return {
    valid: true,
    url: parsed.data.url.replace(/\/+$/, ""),
    requestsPerSecond: parsed.data.requestsPerSecond,
    secret: { ...parsed.data.credentialsSecretRef, namespace: obj.metadata.namespace ?? "" },
  };
}

function specProblem(
  kind: ConnectionKind,
  obj: ConnectionObject,
  issues: readonly { path: PropertyKey[]; message: string }[],
): string {
  const detail = specProblems(issues);
  return `${kind} ${obj.metadata.name} is invalid: ${detail}`;
}

/** The `namespace/name` of a connection's admin Secret, or undefined when its spec is invalid. */
export function adminSecretKey(kind: ConnectionKind, obj: ConnectionObject): string | undefined {
  const parsed = parseConnection(kind, obj);
  return parsed.valid ? `${parsed.secret.namespace}/${parsed.secret.name}` : undefined;
}

function failed(
  step: "token" | "owner",
  url: string,
  clientId: string,
  err: unknown,
): Extract<ConnectionCheck, { state: "failed" }> {
  if (!isDataTrailsError(err)) throw err;
  return {
    state: "failed",
    step,
    url,
    clientId,
    code: err.code,
    ...(err.status !== undefined ? { status: err.status } : {}),
    message: err.message,
    ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
  };
}

/** Reads the admin Secret a connection names (never in another namespace than the spec says). */
export async function readAdminSecret(
  kind: ConnectionKind,
  object: ConnectionObject,
  deps: Pick<ConnectionGatherDeps, "lookupSecret">,
): Promise<AdminSecretRead> {
  const failedWith = (check: ConnectionCheck): AdminSecretRead => ({ state: "failed", check });
  const parsed = parseConnection(kind, object);
  if (!parsed.valid) return failedWith({ state: "invalidSpec", message: parsed.message });
  const ref = parsed.secret;
  const secretName = `${ref.namespace}/${ref.name}`;
  let secret: V1Secret | undefined;
  try {
    secret = await deps.lookupSecret(ref.namespace, ref.name);
  } catch (err) {
    if (err instanceof KubeError && err.code === "Forbidden") {
      return failedWith({ state: "secretMissing", secret: secretName, missingKeys: [], unreadable: true });
    }
    throw err;
  }
  if (!secret) return failedWith({ state: "secretMissing", secret: secretName, missingKeys: [] });
  const data = decodeSecretData(secret);
  const clientId = data[ref.clientIdKey];
  const clientSecret = data[ref.clientSecretKey];
  if (!clientId || !clientSecret) {
    const missingKeys = [ref.clientIdKey, ref.clientSecretKey].filter((k) => !data[k]);
    return failedWith({ state: "secretMissing", secret: secretName, missingKeys });
  }
  return {
    state: "ready",
    secretVersion: secret.metadata?.resourceVersion ?? "",
    target: { url: parsed.url, clientId, clientSecret, requestsPerSecond: parsed.requestsPerSecond },
  };
}

/** Tries the admin credentials: the token endpoint, then the cheapest call only an OWNER may make. */
export async function probeConnection(
  target: ResolvedConnection,
  deps: Pick<ConnectionGatherDeps, "apiFor">,
): Promise<ConnectionCheck> {
  const { url, clientId, clientSecret } = target;
  const api = deps.apiFor(target);
  // The token endpoint itself, every check: a cached admin token would hide a secret rotated away.
  try {
    await api.getToken({ clientId, clientSecret });
  } catch (err) {
    return failed("token", url, clientId, err);
  }
  try {
    await api.listApplicationsPage({ pageSize: 1 });
  } catch (err) {
    return failed("owner", url, clientId, err);
  }
  return { state: "connected", url, clientId };
}

/** Reads the admin Secret and tries the credentials against DataTrails. */
export async function gatherConnection(
  kind: ConnectionKind,
  object: ConnectionObject,
  deps: ConnectionGatherDeps,
): Promise<ConnectionObserved> {
  const read = await readAdminSecret(kind, object, deps);
  if (read.state === "failed") return { kind, object, check: read.check };
  return { kind, object, check: await probeConnection(read.target, deps), secretVersion: read.secretVersion };
}
