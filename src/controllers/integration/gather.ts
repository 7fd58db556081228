/**
 * Reads what an integration reconcile needs. Which DataTrails calls it makes is decided by the
 * pure predicates in decide.ts, so that a settled integration costs one GET of its application.
 */
import type { V1Secret } from "@kubernetes/client-node";
import {
  credentialsKeys,
  credentialsShape,
  integrationSpec,
  refreshAnnotation,
  Reason,
  type BearerToken,
  type ClusterDataTrailsConnection,
  type DataTrailsConnection,
  type DataTrailsIntegration,
  type IntegrationSpec,
  specProblems,
} from "../../api/v1alpha1/index.ts";
import type { Application, DataTrailsApi, ResolvedConnection } from "../../datatrails/api.ts";
import type { LookupOptions } from "../../k8s/secret-cache.ts";
import { isDataTrailsError } from "../../datatrails/errors.ts";
import type { Ownership } from "../ownership.ts";
import { mayWrite } from "../secret-claim.ts";
import { keyNames, readValues, shapeIsCurrent, templateDigest } from "../secret-shape.ts";
import {
  credentialsSecretName,
  identityCandidate,
  isSettled,
  needsSearch,
  needsSecretCheck,
  ownedBy,
  pendingCreateOf,
  secretIsPresent,
  tokenSecretName,
} from "./predicates.ts";
import type {
  ApplicationLookup,
  ApplicationView,
  ChildTokenView,
  CredentialsSecretView,
  IntegrationObserved,
  PoliciesObserved,
  PolicyLookup,
  SearchResult,
  SecretCheck,
} from "./model.ts";
import { needsPolicySearch, policyIsOwned, policyPrefix } from "./policies.ts";
import { failureOf } from "./failures.ts";
import { resolveConnection, type AdminSecretCache } from "./connection.ts";
import { credentialsClaim, foreignApplication } from "./ownership-checks.ts";

export type { ResolvedConnection } from "../../datatrails/api.ts";

/** What gather reads through. */
export interface GatherDeps {
  getConnection(namespace: string, name: string): DataTrailsConnection | undefined;
  getClusterConnection(name: string): ClusterDataTrailsConnection | undefined;
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  lookupSecret(namespace: string, name: string, options?: LookupOptions): Promise<V1Secret | undefined>;
  /** A Secret the operator writes, as the informer holds it (no request). */
  cachedSecret?(namespace: string, name: string): V1Secret | undefined;
  /** The admin Secret of a connection, reused while its resourceVersion is the one given (connection.ts). */
  adminSecrets?: AdminSecretCache;
  getBearerToken(namespace: string, name: string): BearerToken | undefined;
  apiFor(connection: ResolvedConnection): DataTrailsApi;
  ownership: Ownership;
}

/**
 * The recorded access policies, each looked up by identity, and when needed (a create in flight, a
 * deletion) every policy under this integration's display-name prefix.
 */
async function gatherPolicies(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec | undefined,
  api: DataTrailsApi,
): Promise<PoliciesObserved> {
  const lookups: Record<string, PolicyLookup> = {};
  for (const entry of obj.status?.accessPolicies ?? []) {
    if (!entry.identity) continue;
    try {
      lookups[entry.identity] = { state: "found", policy: await api.getAccessPolicy(entry.identity) };
    } catch (err) {
      lookups[entry.identity] = isDataTrailsError(err, "NotFound")
        ? { state: "missing" }
        : { state: "failed", ...failureOf(err, { policy: entry.name }) };
    }
  }
  if (!needsPolicySearch(obj, spec)) return { lookups, search: { state: "none" } };
  // Every page of the tenant's policies, kept by ownership marker (display names may be shortened).
  try {
    const policies = [];
    for await (const p of api.listAccessPolicies()) if (policyIsOwned(p, obj.metadata.uid)) policies.push(p);
    return { lookups, search: { state: "done", policies } };
  } catch (err) {
    return { lookups, search: { state: "failed", ...failureOf(err, { policy: `${policyPrefix(obj)}*` }) } };
  }
}

/** The parts of an application the controller keeps. */
function applicationView(app: Application): ApplicationView {
  const validFrom = app.credentials[0]?.validFrom;
  const validUntil = app.credentials[0]?.validUntil;
  return {
    identity: app.identity,
    clientId: app.clientId,
    displayName: app.displayName,
    customClaims: app.customClaims,
    ...(validFrom ? { validFrom } : {}),
    ...(validUntil ? { validUntil } : {}),
  };
}

/**
 * What the credentials Secret holds, without its values: read under the key names it was written
 * with (secret-shape.ts), and whether it is shaped as the spec's template says.
 */
function credentialsView(
  secret: V1Secret | undefined,
  spec: IntegrationSpec | undefined,
): CredentialsSecretView | undefined {
  if (!secret) return undefined;
  const data = readValues(credentialsShape, secret);
  return {
    resourceVersion: secret.metadata?.resourceVersion ?? "",
    hasClientSecret: Boolean(data[credentialsKeys.clientSecret]),
    ...(data[credentialsKeys.clientId] ? { clientId: data[credentialsKeys.clientId] } : {}),
    ...(data[credentialsKeys.url] ? { url: data[credentialsKeys.url] } : {}),
    ...(data[credentialsKeys.tokenUrl] ? { tokenUrl: data[credentialsKeys.tokenUrl] } : {}),
    ...(shapeIsCurrent(credentialsShape, spec?.credentialsSecret?.template, secret)
      ? {}
      : { shapeStale: true }),
  };
}

/** The child BearerToken as the integration sees it. */
function childToken(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec | undefined,
  deps: GatherDeps,
): ChildTokenView {
  const child = deps.getBearerToken(obj.metadata.namespace ?? "", obj.metadata.name);
  if (!child) return { exists: false, upToDate: false };
  const mine =
    (child.metadata as { ownerReferences?: { uid: string; controller?: boolean }[] }).ownerReferences?.some(
      (o) => o.uid === obj.metadata.uid && o.controller === true,
    ) === true;
  if (!mine) return { exists: true, upToDate: false, foreign: true };
  const policy = spec?.token?.existingSecretPolicy;
  const ref = child.spec.dataTrails?.credentialsSecretRef;
  const names = keyNames(credentialsShape, spec?.credentialsSecret?.template);
  // A refresh request is passed on when the integration carries one; one made on the child itself stays.
  const refreshRequest = obj.metadata.annotations?.[refreshAnnotation];
  const upToDate =
    child.spec.secretName === tokenSecretName(obj, spec) &&
    ref?.name === credentialsSecretName(obj, spec) &&
    (ref.clientIdKey ?? credentialsKeys.clientId) === names[credentialsKeys.clientId] &&
    (ref.clientSecretKey ?? credentialsKeys.clientSecret) === names[credentialsKeys.clientSecret] &&
    templateDigest(child.spec.secretTemplate) === templateDigest(spec?.token?.template) &&
    (child.spec.existingSecretPolicy ?? "Refuse") === (policy ?? "Refuse") &&
    (child.spec.suspend === true) === (spec?.suspend === true) &&
    (refreshRequest === undefined || child.metadata.annotations?.[refreshAnnotation] === refreshRequest);
  const ready = child.status?.conditions?.find((c) => c.type === "Ready");
  return {
    exists: true,
    upToDate,
    ...(ready && ready.observedGeneration === child.metadata.generation ? { ready } : {}),
  };
}

/**
 * The credentials Secret. From the informer when it holds exactly the version this integration
 * recorded writing (status.credentialsSecretVersion) with its data: that is the operator's own last
 * write, so acting on it cannot repeat a step. Otherwise (no record, the cache behind or ahead, a
 * user's Secret the informer does not hold) through the Secret look-up (secret-cache.ts), which on
 * an object's very first look answers a name no Secret of the namespace has without a GET: nothing
 * of its create is written yet, and the Secret is then created with a POST, which the API server
 * refuses for a name someone took meanwhile. (Not for spec.adopt: its first look regenerates a
 * secret, which a refused create would lose.)
 */
async function readCredentialsSecret(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec | undefined,
  deps: Pick<GatherDeps, "lookupSecret" | "cachedSecret">,
): Promise<V1Secret | undefined> {
  const namespace = obj.metadata.namespace ?? "";
  const name = credentialsSecretName(obj, spec);
  const recorded = obj.status?.credentialsSecretVersion;
  const cached = recorded ? deps.cachedSecret?.(namespace, name) : undefined;
  if (cached?.metadata?.resourceVersion === recorded && Object.keys(cached?.data ?? {}).length > 0)
    return cached;
  const firstLook =
    !obj.status && !obj.metadata.deletionTimestamp && !spec?.adopt && pendingCreateOf(obj) === undefined;
  return deps.lookupSecret(namespace, name, firstLook ? { toCreate: true } : undefined);
}

/**
 * Whether the integration is settled (predicates.ts, isSettled) as far as the cluster shows: read
 * on a process's first look, which then asks DataTrails nothing. Reads the credentials Secret only,
 * and returns it for the reconcile that goes on (so it is not read twice).
 */
export async function settledAtFirstLook(
  obj: DataTrailsIntegration,
  deps: GatherDeps,
  now: Date,
): Promise<{ settled: boolean; credentialsSecret: V1Secret | undefined }> {
  const parsed = integrationSpec.safeParse(obj.spec);
  const spec = parsed.success ? parsed.data : undefined;
  const secret = await readCredentialsSecret(obj, spec, deps);
  return {
    settled: isSettled(obj, spec, credentialsView(secret, spec), childToken(obj, spec, deps), now),
    credentialsSecret: secret,
  };
}

/** Everything decide() needs, and the connection's API for apply(). */
export async function gatherIntegration(
  obj: DataTrailsIntegration,
  deps: GatherDeps,
  /** The credentials Secret when this reconcile already read it (settledAtFirstLook). */
  read?: { credentialsSecret: V1Secret | undefined },
): Promise<{
  observed: IntegrationObserved;
  api: DataTrailsApi | undefined;
  credentialsSecret: V1Secret | undefined;
}> {
  const parsed = integrationSpec.safeParse(obj.spec);
  const spec = parsed.success ? parsed.data : undefined;
  const secret = read ? read.credentialsSecret : await readCredentialsSecret(obj, spec, deps);
  const claim = credentialsClaim(obj, spec, secret, deps.ownership);
  // A Secret that is not ours is never read for an identity or a secret: it is not ours to use.
  const credentials = mayWrite(claim) ? credentialsView(secret, spec) : undefined;
  const base: IntegrationObserved = {
    object: obj,
    spec,
    credentialsClaim: claim,
    connection: { state: "failed", reason: Reason.InvalidSpec, message: "not resolved" },
    credentials,
    application: { state: "none" },
    search: { state: "none" },
    secretCheck: { state: "none" },
    token: childToken(obj, spec, deps),
    policies: { lookups: {}, search: { state: "none" } },
  };
  if (!spec) {
    const specError = parsed.error ? specProblems(parsed.error.issues) : "invalid";
    return { observed: { ...base, specError }, api: undefined, credentialsSecret: secret };
  }
  const identity = identityCandidate(obj, spec, credentials);
  if (spec.suspend === true) {
    // Suspended: DataTrails is asked nothing at all, not even a read (docs/control.md).
    return {
      observed: { ...base, ...(identity ? { identity } : {}) },
      api: undefined,
      credentialsSecret: secret,
    };
  }
  if (!mayWrite(claim) && !obj.metadata.deletionTimestamp) {
    // Nothing is asked of DataTrails for an integration that could not store what it is given.
    return {
      observed: { ...base, ...(identity ? { identity } : {}) },
      api: undefined,
      credentialsSecret: secret,
    };
  }
  const connection = await resolveConnection(obj, spec, deps);
  if (connection.state === "failed") {
    return {
      observed: { ...base, connection, ...(identity ? { identity } : {}) },
      api: undefined,
      credentialsSecret: secret,
    };
  }
  const { api } = connection;

  let application: ApplicationLookup = { state: "none" };
  if (identity) {
    try {
      application = { state: "found", app: applicationView(await api.getApplication(identity.value)) };
    } catch (err) {
      application = isDataTrailsError(err, "NotFound")
        ? { state: "missing" }
        : { state: "failed", ...failureOf(err, { application: "reading the application" }) };
    }
  }

  let search: SearchResult = { state: "none" };
  let found = application.state === "found" ? application.app : undefined;
  let source = identity;
  if (needsSearch(obj, application.state === "found")) {
    const displayName = pendingCreateOf(obj)?.displayName ?? spec.displayName;
    try {
      const apps: ApplicationView[] = [];
      for await (const app of api.listApplications({ displayName })) apps.push(applicationView(app));
      search = { state: "done", apps };
      const mine = ownedBy(apps, obj.metadata.uid)[0];
      if (!found && mine) {
        found = mine;
        source = { value: mine.identity, source: "search" };
      }
    } catch (err) {
      search = { state: "failed", ...failureOf(err, { application: "searching for a pending create" }) };
    }
  }

  const foreign = found ? foreignApplication(obj, found, source?.source, deps.ownership) : undefined;
  if (foreign) {
    return {
      observed: {
        ...base,
        connection: { state: "ready", url: connection.url, tokenUrl: connection.tokenUrl },
        ...(source ? { identity: source } : {}),
        application,
        search,
        foreignApplication: foreign,
      },
      api,
      credentialsSecret: secret,
    };
  }

  let secretCheck: SecretCheck = { state: "none" };
  if (
    found &&
    !obj.metadata.deletionTimestamp &&
    needsSecretCheck(obj, credentials, found) &&
    secretIsPresent(credentials, found)
  ) {
    const data = readValues(credentialsShape, secret);
    try {
      await api.getToken({
        clientId: found.clientId,
        clientSecret: data[credentialsKeys.clientSecret] ?? "",
      });
      secretCheck = { state: "works" };
    } catch (err) {
      secretCheck = isDataTrailsError(err, "Unauthenticated")
        ? { state: "rejected" }
        : { state: "failed", ...failureOf(err, { application: "checking the stored secret" }) };
    }
  }

  // Policies name the client_id, known once the application exists; a deletion, or an application
  // gone from DataTrails, cleans up the recorded ones regardless.
  const policies =
    found || obj.metadata.deletionTimestamp || application.state === "missing"
      ? await gatherPolicies(obj, spec, api)
      : base.policies;

  return {
    observed: {
      ...base,
      connection: { state: "ready", url: connection.url, tokenUrl: connection.tokenUrl },
      ...(source ? { identity: source } : {}),
      application,
      search,
      secretCheck,
      policies,
    },
    api,
    credentialsSecret: secret,
  };
}
