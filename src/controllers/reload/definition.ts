/**
 * The reload controllers' wiring: one for DataTrailsIntegrations, one for BearerTokens, sharing one
 * debouncer (a workload two kinds of object name is still rolled once). Each is woken by every
 * change of an object that has spec.reload, status included (a rotation shows in status), and the
 * BearerToken's by its token Secret (whose inputs-version annotation is its credentials version).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  resources,
  restartedAtAnnotation,
  rfc3339,
  type BearerToken,
  type DataTrailsIntegration,
} from "../../api/v1alpha1/index.ts";
import type { ControllerContext, ControllerDefinition } from "../context.ts";
import { keyOf } from "../controller.ts";
import { holderAnnotation } from "../secret-claim.ts";
import { createRollDebouncer, type RollRequest, type WorkloadRef } from "./debounce.ts";
import { reloadReconciler } from "./controller.ts";
import { integrationCredentialsVersion, tokenCredentialsVersion } from "./version.ts";

const namesOf = (requests: readonly RollRequest[]) =>
  requests.map((r) => `${r.source.kind ?? ""} ${r.source.metadata?.name ?? ""}`).join(", ");

/** Declares the two reload controllers over `ctx`. */
export function reloadDefinitions(ctx: ControllerContext): ControllerDefinition[] {
  const { integrations, tokens, secrets } = ctx.informers;
  const { workloads, events, clock } = ctx;

  const roll = async (workload: WorkloadRef, requests: readonly RollRequest[]) => {
    const annotations: Record<string, string> = { [restartedAtAnnotation]: rfc3339(clock.now()) };
    for (const r of requests) annotations[r.annotationKey] = r.version;
    const rolled = await workloads.patchTemplateAnnotations(
      workload.kind,
      workload.namespace,
      workload.name,
      annotations,
    );
    // A test-only fault point: the patch is made, nothing is recorded yet (test/crash/reload-crash.test.ts).
    ctx.crashPoint?.("after:RollWorkload");
    const target: KubernetesObject = {
      apiVersion: "apps/v1",
      kind: rolled.kind,
      metadata: { name: rolled.name, namespace: rolled.namespace, uid: rolled.uid },
    };
    events.record(target, {
      type: "Normal",
      reason: "RolledForCredentials",
      action: "Reload",
      note: `Rolled for rotated credentials of ${namesOf(requests)}.`,
    });
    for (const r of requests)
      events.record(r.source, {
        type: "Normal",
        reason: "WorkloadRolled",
        action: "Reload",
        note: `Rolled ${workload.kind} ${workload.name} for rotated credentials.`,
      });
    ctx.logger.info(
      { namespace: workload.namespace, workload: `${workload.kind}/${workload.name}`, by: namesOf(requests) },
      "workload rolled",
    );
  };
  const debouncer = createRollDebouncer({ clock, delayMs: ctx.config.reloadDebounceMs, roll });
  const timings = { pendingRecheckMs: ctx.config.reloadDebounceMs + 1_000, retryMs: 60_000 };
  const common = {
    workloads,
    debouncer,
    events,
    clock,
    logger: ctx.logger,
    timings,
  };
  const withReload = (o: KubernetesObject & { spec?: { reload?: unknown } }) =>
    o.spec?.reload ? [keyOf(o)] : [];

  return [
    {
      name: "reload-datatrailsintegration",
      primary: integrations,
      concurrency: ctx.config.integrationConcurrency,
      watches: [{ informer: integrations, keysFor: withReload }],
      secretKeys: () => [],
      reconcile: reloadReconciler<DataTrailsIntegration>({
        ...common,
        kind: "DataTrailsIntegration",
        cached: (ns, name) => integrations.get(name, ns),
        getObject: (ns, name) =>
          ctx.objects.get<DataTrailsIntegration & KubernetesObject>(resources.integrations, ns, name),
        currentVersion: (obj) => integrationCredentialsVersion(obj.status),
        writeStatus: (obj, previous, next) => ctx.writeStatus(resources.integrations, obj, previous, next),
      }),
      stop: () => debouncer.stop(),
    },
    {
      name: "reload-bearertoken",
      primary: tokens,
      concurrency: ctx.config.tokenConcurrency,
      watches: [
        { informer: tokens, keysFor: withReload },
        {
          informer: secrets,
          keysFor: (s) => {
            const [kind, name] = (s.metadata?.annotations?.[holderAnnotation] ?? "").split("/");
            const namespace = s.metadata?.namespace ?? "";
            if (kind !== "BearerToken" || !name) return [];
            return tokens.get(name, namespace)?.spec?.reload ? [`${namespace}/${name}`] : [];
          },
        },
      ],
      secretKeys: () => [],
      reconcile: reloadReconciler<BearerToken>({
        ...common,
        kind: "BearerToken",
        cached: (ns, name) => tokens.get(name, ns),
        getObject: (ns, name) =>
          ctx.objects.get<BearerToken & KubernetesObject>(resources.bearerTokens, ns, name),
        currentVersion: (obj) =>
          tokenCredentialsVersion(
            secrets.get(obj.spec.secretName, obj.metadata.namespace ?? ""),
            obj.metadata.uid,
          ),
        writeStatus: (obj, previous, next) => ctx.writeStatus(resources.bearerTokens, obj, previous, next),
      }),
      stop: () => debouncer.stop(),
    },
  ];
}
