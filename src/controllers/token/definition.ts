/**
 * The BearerToken controller's wiring: it reconciles BearerTokens; it is woken by its token Secret
 * (ownerReference), by the Secret its issuer reads (an index from Secret to BearerTokens: the
 * operator's own through the Secret informer, a user's through the metadata-only Secret watch), and
 * by a user's Secret that holds the name its token Secret wants.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { bearerTokenSpec } from "../../api/v1alpha1/bearer-token.ts";
import { resources } from "../../api/v1alpha1/index.ts";
import { verifyToken } from "../../tokens/verify.ts";
import type { ControllerContext, ControllerDefinition } from "../context.ts";
import { keyOf, ownerKeys } from "../controller.ts";
import { indexInformer, ReferenceIndex } from "../reference-index.ts";
import { tokenReconciler } from "./controller.ts";
import { inputSecretRef } from "./gather.ts";

/** Declares the BearerToken controller over `ctx`; call before the informers start (it indexes them). */
export function tokenDefinition(ctx: ControllerContext): ControllerDefinition {
  const { tokens, secrets } = ctx.informers;
  const inputs = new ReferenceIndex();
  indexInformer(tokens, inputs, (t) => {
    const spec = bearerTokenSpec.safeParse(t.spec);
    const ref = spec.success ? inputSecretRef(spec.data) : undefined;
    return ref ? [`${t.metadata.namespace ?? ""}/${ref.name}`] : [];
  });
  return {
    name: "bearertoken",
    primary: tokens,
    concurrency: ctx.config.tokenConcurrency,
    watches: [
      {
        informer: secrets,
        keysFor: (s: KubernetesObject) => [...ownerKeys(s, "BearerToken"), ...inputs.referrersOf(keyOf(s))],
      },
    ],
    secretKeys: (namespace, name) => [
      ...inputs.referrersOf(`${namespace}/${name}`),
      ...ctx.ownership
        .secretWriters(namespace, name)
        .filter((w) => w.kind === "BearerToken")
        .map((w) => `${namespace}/${w.name}`),
    ],
    reconcile: tokenReconciler({
      getToken: (ns, name) => tokens.get(name, ns),
      tokenUpdates: tokens,
      lookupSecret: ctx.lookupSecret,
      ownership: ctx.ownership,
      secrets: ctx.secrets,
      writeStatus: (obj, status) => ctx.writeStatus(resources.bearerTokens, obj, obj.status, status),
      events: ctx.events,
      issuerFor: ctx.issuerFor,
      verify: (token, v) => verifyToken(token, v),
      clock: ctx.clock,
      logger: ctx.logger,
      metrics: ctx.metrics,
      ...(ctx.crashPoint ? { crashPoint: ctx.crashPoint } : {}),
    }),
  };
}
