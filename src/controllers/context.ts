/**
 * What every controller is built from (the ports and caches the composition root makes once), and
 * what each controller declares back: its primary kind, what else it watches and how those objects
 * map to its keys, which Secrets the operator does not write should wake it, and its reconcile. The
 * composition root (operator.ts) only builds the context and starts what the controllers declare,
 * as controller-runtime's For/Owns/Watches do.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Config } from "../config.ts";
import type { DataTrailsApi, ResolvedConnection } from "../datatrails/api.ts";
import type { Clock } from "../k8s/clock.ts";
import type { CustomObjects, ResourceRef } from "../k8s/custom-objects.ts";
import type { EventRecorder } from "../k8s/events.ts";
import type { ResilientInformer } from "../k8s/informer.ts";
import type { Informers } from "../k8s/informers.ts";
import type { SecretChange, SecretLookup } from "../k8s/secret-cache.ts";
import type { SecretStore } from "../k8s/secrets.ts";
import type { WorkResult } from "../k8s/work-queue.ts";
import type { Workloads } from "../k8s/workloads.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { IssuerInputs } from "../tokens/factory.ts";
import type { TokenIssuer } from "../tokens/issuer.ts";
import type { BearerTokenSpec } from "../api/v1alpha1/bearer-token.ts";
import type { Watched } from "./controller.ts";
import type { Ownership } from "./ownership.ts";

/** The shared ports and caches, built once by the composition root. */
export interface ControllerContext {
  config: Readonly<Config>;
  informers: Informers;
  ownership: Ownership;
  objects: CustomObjects;
  secrets: SecretStore;
  /** A Secret as the API server has it now, from the caches (a reconcile sees its own last write). */
  lookupSecret: SecretLookup;
  /** Tells the Secret caches what the metadata-only Secret watch saw. */
  secretChanged: (change: SecretChange) => void;
  /** Merge-patches the status of an object of the kind `resource` names. */
  writeStatus: (
    resource: ResourceRef,
    obj: { metadata: { namespace?: string; name: string } },
    previous: object | undefined,
    next: object,
  ) => Promise<void>;
  namespaceLabels: (name: string) => Promise<Record<string, string> | undefined>;
  apiFor: (connection: ResolvedConnection) => DataTrailsApi;
  issuerFor: (spec: BearerTokenSpec, inputs: IssuerInputs) => TokenIssuer;
  events: EventRecorder;
  /** The workloads spec.reload rolls (read and patched at roll time, never cached). */
  workloads: Workloads;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Test-only fault injection: called after each step --fault-crash-at can name (an integration action, after:PublishToken, after:RollWorkload). */
  crashPoint?: (step: string) => void;
}

/** What a controller declares: the composition root starts it. */
export interface ControllerDefinition {
  name: string;
  primary: ResilientInformer<KubernetesObject>;
  concurrency: number;
  watches: Watched[];
  /** Keys to wake when a Secret the operator does not write (no managed-by label) changes. */
  secretKeys: (namespace: string, name: string) => string[];
  /** Keys this controller may work on; defaults to the watched namespaces. */
  accepts?: (key: string) => boolean;
  reconcile: (key: string) => Promise<WorkResult>;
  /** Called once the controller's queue has drained at shutdown (e.g. to drop pending timers). */
  stop?: () => Promise<void>;
}
