/**
 * Carries out an integration plan, one action after another, stopping at the first failure. The
 * write-ahead status marks (pendingCreate, pendingRotation, a pending access policy) are written
 * before the step they guard. Apply returns what the steps produced and the first error; the status
 * written after them comes from status.ts, the one place that turns an outcome into a status.
 */
import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import {
  apiVersion,
  applicationFinalizer,
  createStartedAnnotation,
  credentialsKeys,
  credentialsShape,
  fieldManager,
  managedByLabel,
  managedByValue,
  ownerLabel,
  refreshAnnotation,
  resources,
  type DataTrailsIntegration,
  type IntegrationStatus,
  rfc3339,
} from "../../api/v1alpha1/index.ts";
import type { DataTrailsApi } from "../../datatrails/api.ts";
import { isDataTrailsError } from "../../datatrails/errors.ts";
import type { CustomObjects } from "../../k8s/custom-objects.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import { shardLabels } from "../../k8s/shards.ts";
import type { SecretStore } from "../../k8s/secrets.ts";
import { readValues, shapeSecret, staleFields } from "../secret-shape.ts";
import { credentialsSecretName } from "./predicates.ts";
import { integrationWriter } from "./ownership-checks.ts";
import { mayWrite, ownershipOf, type SecretClaim } from "../secret-claim.ts";
import type { Action, ApplyOutcome, ApplyResults, Plan } from "./model.ts";
import type { IntegrationSpec } from "../../api/v1alpha1/integration.ts";
import type { V1Secret } from "@kubernetes/client-node";

const integrationResource = resources.integrations;
const bearerTokenResource = resources.bearerTokens;

/** What apply writes through. */
export interface ApplyDeps {
  objects: CustomObjects;
  secrets: SecretStore;
  events: EventRecorder;
  writeStatus(
    obj: DataTrailsIntegration,
    previous: IntegrationStatus | undefined,
    next: IntegrationStatus,
  ): Promise<void>;
  now(): Date;
  /**
   * With --shards > 1, how many: the child BearerToken is applied with its shard's label, so its
   * holder's cache takes it in at once and no stamp (a second patch) follows. Absent: one shard, no label.
   */
  shards?: number;
  /** A test-only fault point: called after each step with its name; the operator may exit there. */
  crashPoint?(step: string): void;
}

function ownerRef(obj: DataTrailsIntegration): V1OwnerReference {
  return {
    apiVersion,
    kind: "DataTrailsIntegration",
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

type PolicyAction = Extract<
  Action,
  { type: "CreateAccessPolicy" | "UpdateAccessPolicy" | "DeleteAccessPolicy" }
>;

async function runPolicy(api: DataTrailsApi, action: PolicyAction, results: ApplyResults): Promise<void> {
  switch (action.type) {
    case "CreateAccessPolicy": {
      const created = await api.createAccessPolicy(action.policy);
      results.policies = { ...results.policies, [action.name]: created.identity };
      return;
    }
    case "UpdateAccessPolicy":
      await api.updateAccessPolicy(action.identity, action.policy);
      return;
    case "DeleteAccessPolicy":
      try {
        await api.deleteAccessPolicy(action.identity);
      } catch (err) {
        if (!isDataTrailsError(err, "NotFound")) throw err;
      }
      return;
  }
}

/** Runs the plan's actions in order; stops at the first failure and returns it with what was done. */
export async function applyPlan(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec | undefined,
  plan: Plan,
  api: DataTrailsApi | undefined,
  existingSecret: V1Secret | undefined,
  deps: ApplyDeps,
  claim: SecretClaim = { state: "free" },
): Promise<ApplyOutcome> {
  let wroteSecret = false;
  const namespace = obj.metadata.namespace ?? "";
  const name = obj.metadata.name;
  const results: ApplyResults = { status: obj.status, finalizerRemoved: false };
  const needApi = (): DataTrailsApi => {
    if (!api) throw new Error("no DataTrails connection for an action that needs one");
    return api;
  };
  const mark = async (patch: Partial<IntegrationStatus>) => {
    const next = { ...(results.status ?? {}), ...patch };
    await deps.writeStatus(obj, results.status, next);
    results.status = next;
  };

  const run = async (action: Action): Promise<void> => {
    switch (action.type) {
      case "AddFinalizer":
      case "RemoveFinalizer": {
        const current = obj.metadata.finalizers ?? [];
        const finalizers =
          action.type === "AddFinalizer"
            ? [...current, applicationFinalizer]
            : current.filter((f) => f !== applicationFinalizer);
        // resourceVersion makes the patch fail on a concurrent change instead of losing someone's finalizer.
        await deps.objects.mergePatch(integrationResource, namespace, name, {
          metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
        });
        if (action.type === "RemoveFinalizer") results.finalizerRemoved = true;
        return;
      }
      case "MarkPendingCreate": {
        if (action.into === "status")
          return mark({ pendingCreate: { displayName: action.displayName, startedAt: action.at } });
        const annotations = {
          [createStartedAnnotation]: JSON.stringify({
            displayName: action.displayName,
            startedAt: action.at,
          }),
        };
        // With the finalizer, resourceVersion makes the patch fail on a concurrent change instead
        // of losing someone's finalizer; an annotation alone loses nothing.
        await deps.objects.mergePatch(integrationResource, namespace, name, {
          metadata: action.addFinalizer
            ? {
                annotations,
                finalizers: [...(obj.metadata.finalizers ?? []), applicationFinalizer],
                resourceVersion: obj.metadata.resourceVersion,
              }
            : { annotations },
        });
        return;
      }
      case "MarkPendingRotation":
        return mark({
          pendingRotation: {
            startedAt: action.at,
            ...(action.previousValidFrom ? { previousValidFrom: action.previousValidFrom } : {}),
            ...(action.request !== undefined ? { request: action.request } : {}),
          },
        });
      case "CreateApplication":
        results.issued = await needApi().createApplication({
          displayName: action.displayName,
          customClaims: action.customClaims,
          ...(action.roles ? { roles: action.roles } : {}),
        });
        return;
      case "MarkPendingPolicy": {
        const others = (results.status?.accessPolicies ?? []).filter((e) => e.name !== action.name);
        return mark({ accessPolicies: [...others, { name: action.name, pendingCreateAt: action.at }] });
      }
      case "CreateAccessPolicy":
      case "UpdateAccessPolicy":
      case "DeleteAccessPolicy":
        return runPolicy(needApi(), action, results);
      case "RegenerateSecret":
        results.issued = await needApi().regenerateSecret(action.identity);
        results.rotatedAt = rfc3339(deps.now());
        return;
      case "WriteCredentials": {
        let clientId: string;
        let clientSecret: string;
        if (action.secretFrom === "result") {
          if (!results.issued)
            throw new Error("WriteCredentials from a result, but no create or regenerate ran");
          clientId = results.issued.clientId;
          clientSecret = results.issued.secret;
        } else {
          // Under the names the Secret was written with: a template change renames them.
          const data = readValues(credentialsShape, existingSecret);
          clientId = data[credentialsKeys.clientId] ?? "";
          clientSecret = data[credentialsKeys.clientSecret] ?? "";
        }
        const secretName = credentialsSecretName(obj, spec);
        if (!mayWrite(claim)) throw new Error(`WriteCredentials into ${secretName}, which is not ours`);
        const policy = spec?.credentialsSecret?.existingSecretPolicy ?? "Refuse";
        const ownership = ownershipOf(integrationWriter(obj), claim, policy);
        // An absent Secret is created, never applied: one that someone made a moment ago is not taken.
        const create = claim.state === "free" && !wroteSecret;
        wroteSecret = true;
        const values = {
          [credentialsKeys.clientId]: clientId,
          [credentialsKeys.clientSecret]: clientSecret,
          [credentialsKeys.tokenUrl]: action.tokenUrl,
          [credentialsKeys.url]: action.url,
        };
        const shaped = shapeSecret(credentialsShape, spec?.credentialsSecret?.template, values, {
          labels: { [managedByLabel]: managedByValue, [ownerLabel]: `datatrailsintegration.${name}` },
          annotations: ownership.annotations,
        });
        const secret = {
          namespace,
          name: secretName,
          labels: shaped.labels,
          annotations: shaped.annotations,
          ownerReferences: ownership.ownerReferences,
          keepType: ownership.adopted,
          ...(shaped.type ? { type: shaped.type } : {}),
          data: shaped.data,
          ...(create
            ? {}
            : { remove: staleFields(credentialsShape, existingSecret, spec?.credentialsSecret?.template) }),
        };
        results.credentialsVersion = await (create
          ? deps.secrets.create(secret)
          : deps.secrets.apply(secret));
        return;
      }
      case "PatchApplication":
        await needApi().updateApplication(action.identity, {
          ...(action.displayName !== undefined ? { displayName: action.displayName } : {}),
          ...(action.customClaims !== undefined ? { customClaims: action.customClaims } : {}),
        });
        return;
      case "DeleteApplication":
        try {
          await needApi().deleteApplication(action.identity);
        } catch (err) {
          if (!isDataTrailsError(err, "NotFound")) throw err;
        }
        return;
      case "ApplyBearerToken": {
        const owner = ownerRef(obj);
        // With shards, the child's shard label: its root's, this integration's (src/k8s/shards.ts).
        const shard = shardLabels({ metadata: { namespace, ownerReferences: [owner] } }, deps.shards ?? 1);
        await deps.objects.apply(
          bearerTokenResource,
          {
            apiVersion,
            kind: "BearerToken",
            metadata: {
              name,
              namespace,
              ownerReferences: [owner],
              labels: { [managedByLabel]: managedByValue, ...shard },
              ...(action.refreshRequest !== undefined
                ? { annotations: { [refreshAnnotation]: action.refreshRequest } }
                : {}),
            },
            spec: {
              secretName: action.secretName,
              dataTrails: {
                credentialsSecretRef: {
                  name: action.credentialsSecretName,
                  ...(action.clientIdKey ? { clientIdKey: action.clientIdKey } : {}),
                  ...(action.clientSecretKey ? { clientSecretKey: action.clientSecretKey } : {}),
                },
              },
              ...(action.existingSecretPolicy ? { existingSecretPolicy: action.existingSecretPolicy } : {}),
              ...(action.template ? { secretTemplate: action.template } : {}),
              ...(action.suspend ? { suspend: true } : {}),
            },
          } as KubernetesObject,
          fieldManager,
        );
        return;
      }
      case "DeleteBearerToken":
        return deps.objects.delete(bearerTokenResource, namespace, name);
      case "RecordEvent":
        deps.events.record(obj as unknown as KubernetesObject, {
          type: action.eventType,
          reason: action.reason,
          action: action.reason,
          note: action.note,
        });
        return;
    }
  };

  for (const action of plan.actions) {
    try {
      await run(action);
    } catch (cause) {
      return { results, error: { cause, action } };
    }
    deps.crashPoint?.(`after:${action.type}`);
  }
  return { results };
}
