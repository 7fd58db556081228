/**
 * Who writes which Secret and who holds which application, answered from the informer caches
 * through indexes (never a scan of every object): the facts secret-claim.ts and the integration's
 * application check need to decide "is this provably ours?".
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  bearerTokenSpec,
  integrationSpec,
  type BearerToken,
  type DataTrailsIntegration,
} from "../api/v1alpha1/index.ts";
import type { ResilientInformer } from "../k8s/informer.ts";
import { credentialsSecretName } from "./integration/predicates.ts";
import { ReferenceIndex, indexInformer } from "./reference-index.ts";
import type { Holder, SecretWriter, WriterKind } from "./secret-claim.ts";
import { splitKey } from "./controller.ts";

/** The ownership facts the controllers read. */
export interface Ownership {
  /** Objects that name `namespace/secretName` as their output Secret. */
  secretWriters(namespace: string, secretName: string): SecretWriter[];
  /** Whether the object a Secret names as its holder still exists (same UID). */
  holderExists(namespace: string, holder: Holder): boolean;
  /** The integration with this UID, as `namespace/name`, if the cache holds it. */
  integrationWithUid(uid: string): string | undefined;
  /** Integrations whose spec.adopt names this application identity. */
  adopters(identity: string): SecretWriter[];
}

type Integration = DataTrailsIntegration & KubernetesObject;
type Token = BearerToken & KubernetesObject;

function writer(kind: WriterKind, obj: Integration | Token): SecretWriter {
  return {
    kind,
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    creationTimestamp: obj.metadata.creationTimestamp,
  };
}

/** The output Secret a BearerToken names (`namespace/name`), read leniently: an invalid spec still names one. */
function tokenOutput(t: Token): string[] {
  const name = bearerTokenSpec.safeParse(t.spec).data?.secretName ?? t.spec?.secretName;
  return name ? [`${t.metadata.namespace ?? ""}/${name}`] : [];
}

function integrationOutput(i: Integration): string[] {
  const spec = integrationSpec.safeParse(i.spec).data;
  return [`${i.metadata.namespace ?? ""}/${credentialsSecretName(i, spec)}`];
}

/** {@link Ownership} over the integration and BearerToken informers. Build it before they start. */
export function informerOwnership(
  integrations: ResilientInformer<Integration>,
  tokens: ResilientInformer<Token>,
): Ownership {
  const integrationSecrets = new ReferenceIndex();
  const tokenSecrets = new ReferenceIndex();
  const uids = new ReferenceIndex();
  const adopts = new ReferenceIndex();
  indexInformer(integrations, integrationSecrets, integrationOutput);
  indexInformer(tokens, tokenSecrets, tokenOutput);
  indexInformer(integrations, uids, (i) => [i.metadata.uid]);
  indexInformer(integrations, adopts, (i) => {
    const identity = integrationSpec.safeParse(i.spec).data?.adopt?.identity;
    return identity ? [identity] : [];
  });
  const lookup = <T extends Integration | Token>(informer: ResilientInformer<T>, key: string) => {
    const { namespace, name } = splitKey(key);
    return informer.get(name, namespace);
  };
  return {
    secretWriters(namespace, secretName) {
      const ref = `${namespace}/${secretName}`;
      const found: SecretWriter[] = [];
      for (const key of integrationSecrets.referrersOf(ref)) {
        const obj = lookup(integrations, key);
        if (obj && !obj.metadata.deletionTimestamp) found.push(writer("DataTrailsIntegration", obj));
      }
      for (const key of tokenSecrets.referrersOf(ref)) {
        const obj = lookup(tokens, key);
        if (obj && !obj.metadata.deletionTimestamp) found.push(writer("BearerToken", obj));
      }
      return found;
    },
    holderExists(namespace, holder) {
      const informer =
        holder.kind === "BearerToken"
          ? tokens
          : holder.kind === "DataTrailsIntegration"
            ? integrations
            : undefined;
      return informer?.get(holder.name, namespace)?.metadata.uid === holder.uid;
    },
    integrationWithUid: (uid) => uids.referrersOf(uid)[0],
    adopters(identity) {
      return adopts
        .referrersOf(identity)
        .map((key) => lookup(integrations, key))
        .filter((obj): obj is Integration => obj !== undefined && !obj.metadata.deletionTimestamp)
        .map((obj) => writer("DataTrailsIntegration", obj));
    },
  };
}
