/**
 * Whether an integration may use what it finds: its credentials Secret (secret-claim.ts, with the
 * rivals and holders the ownership index knows) and the application (its ownership claim).
 */
import type { V1Secret } from "@kubernetes/client-node";
import {
  ownerClaimName,
  type DataTrailsIntegration,
  type IntegrationSpec,
} from "../../api/v1alpha1/index.ts";
import type { Ownership } from "../ownership.ts";
import { claimOf, goesFirst, type SecretClaim, type SecretWriter } from "../secret-claim.ts";
import type { ApplicationView, ForeignApplication, IdentitySource } from "./model.ts";
import { credentialsSecretName } from "./predicates.ts";

/** The integration as a writer of its credentials Secret. */
export function integrationWriter(obj: DataTrailsIntegration): SecretWriter {
  return {
    kind: "DataTrailsIntegration",
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    creationTimestamp: obj.metadata.creationTimestamp,
  };
}

/** Whether this integration may write its credentials Secret (secret-claim.ts). */
export function credentialsClaim(
  obj: DataTrailsIntegration,
  spec: IntegrationSpec | undefined,
  secret: V1Secret | undefined,
  ownership: Ownership,
): SecretClaim {
  const namespace = obj.metadata.namespace ?? "";
  return claimOf(secret, {
    me: integrationWriter(obj),
    policy: spec?.credentialsSecret?.existingSecretPolicy ?? "Refuse",
    rivals: ownership.secretWriters(namespace, credentialsSecretName(obj, spec)),
    holderExists: (holder) => ownership.holderExists(namespace, holder),
  });
}

/**
 * Whether the application found is another integration's, so that this one must not change,
 * rotate or delete it. Its ownership claim decides: this object's UID is ours; another UID belongs
 * to that integration, unless spec.adopt names the application and that integration is gone (the
 * way to take over an orphaned application). Without a claim, an application is ours only when
 * status recorded it or spec.adopt names it; one found through the credentials Secret alone is not.
 * Two integrations adopting one application: the older goes first.
 */
export function foreignApplication(
  obj: DataTrailsIntegration,
  app: ApplicationView,
  source: IdentitySource | undefined,
  ownership: Ownership,
): ForeignApplication | undefined {
  const claim = app.customClaims[ownerClaimName];
  const uid = obj.metadata.uid;
  if (claim === uid || source === "search") return undefined;
  if (source === "adopt") {
    const me = integrationWriter(obj);
    const first = ownership.adopters(app.identity).find((a) => a.uid !== uid && goesFirst(a, me));
    if (first)
      return { identity: app.identity, holder: `${first.namespace}/${first.name}`, why: "adoptedFirst" };
  }
  if (claim === undefined) {
    return source === "status" || source === "adopt"
      ? undefined
      : { identity: app.identity, why: "notClaimed" };
  }
  const holder = ownership.integrationWithUid(claim);
  if (source === "adopt" && holder === undefined) return undefined;
  return { identity: app.identity, ...(holder ? { holder } : {}), why: "claimed" };
}
