/**
 * Fixtures shared by the integration controller's decide tables: an integration object, the
 * application DataTrails holds for it, its credentials Secret and a full observation.
 */
import { applicationFinalizer, ownerClaimName } from "../../api/v1alpha1/index.ts";
import {
  integrationSpec,
  type DataTrailsIntegration,
  type IntegrationStatus,
} from "../../api/v1alpha1/integration.ts";
import type { Action, ApplicationView, IntegrationObserved } from "./model.ts";

/** The fixed "now" of every table. */
export const now = new Date("2026-06-01T12:00:00Z");
export const uid = "0b7b2c1e-6a43-4a8e-9c55-2f0e4b0f7a11";
export const options = { resyncIntervalMs: 600_000, missingTargetRetryMs: 300_000 };
export const url = "https://dt.example";
export const tokenUrl = `${url}/archivist/iam/v1/appidp/token`;
export const identity = "applications/d1fb6c87-faa9-4d56-b2fd-a5b70a9af065";
export const clientId = "d1fb6c87-faa9-4d56-b2fd-a5b70a9af065";

export function object(
  opts: {
    spec?: Record<string, unknown>;
    status?: IntegrationStatus;
    finalizer?: boolean;
    deleting?: boolean;
    annotations?: Record<string, string>;
  } = {},
): DataTrailsIntegration {
  const raw = {
    connectionRef: { name: "dt" },
    displayName: "TrafficLight101",
    customClaims: { serial_number: "TL1" },
    ...opts.spec,
  };
  return {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "DataTrailsIntegration",
    metadata: {
      name: "tl",
      namespace: "ns",
      uid,
      generation: 3,
      resourceVersion: "10",
      finalizers: opts.finalizer === false ? [] : [applicationFinalizer],
      ...(opts.deleting ? { deletionTimestamp: "2026-06-01T11:59:00Z" } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: integrationSpec.parse(raw),
    ...(opts.status ? { status: opts.status } : {}),
  };
}

export function app(over: Partial<ApplicationView> = {}): ApplicationView {
  return {
    identity,
    clientId,
    displayName: "TrafficLight101",
    customClaims: { serial_number: "TL1", [ownerClaimName]: uid },
    validUntil: "2027-01-01T00:00:00Z",
    ...over,
  };
}

export const credentials = { resourceVersion: "55", clientId, hasClientSecret: true, url, tokenUrl };
export const settled: IntegrationStatus = {
  applicationIdentity: identity,
  clientId,
  credentialsSecretVersion: "55",
};

export function observed(
  obj: DataTrailsIntegration,
  over: Partial<IntegrationObserved> = {},
): IntegrationObserved {
  return {
    object: obj,
    spec: obj.spec,
    credentialsClaim: { state: "mine", adopted: false },
    connection: { state: "ready", url, tokenUrl },
    credentials: undefined,
    application: { state: "none" },
    search: { state: "none" },
    secretCheck: { state: "none" },
    policies: { lookups: {}, search: { state: "none" } },
    token: {
      exists: true,
      upToDate: true,
      ready: {
        type: "Ready",
        status: "True",
        reason: "TokenValid",
        message: "ok",
        lastTransitionTime: "2026-06-01T11:00:00Z",
      },
    },
    ...over,
  };
}

export const types = (actions: Action[]) =>
  actions.map((a) => (a.type === "RecordEvent" ? `Event:${a.reason}` : a.type));
