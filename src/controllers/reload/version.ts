/**
 * What "the credentials changed" means for each kind that can reload workloads, as a version: a
 * short digest of facts the operator records anyway, never of a secret. A routine token refresh
 * changes none of them.
 */
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { reloadAnnotationSuffix, type IntegrationStatus } from "../../api/v1alpha1/index.ts";
import { holderUidAnnotation } from "../secret-claim.ts";
import { readTokenSecret } from "../token/secret.ts";

const digest = (parts: readonly string[]) =>
  createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16);

/**
 * An integration's credentials version: its client ID and its secret's validity and rotation
 * time, which change exactly when a secret is issued (create, rotation, a lost Secret
 * regenerated). Undefined while there are no credentials or a create or rotation is in flight.
 */
export function integrationCredentialsVersion(status: IntegrationStatus | undefined): string | undefined {
  if (!status?.clientId || status.pendingCreate || status.pendingRotation) return undefined;
  return digest([status.clientId, status.secretValidUntil ?? "", status.secretRotatedAt ?? ""]);
}

/**
 * A BearerToken's credentials version: the version of the inputs (a digest of the values its
 * issuer reads from the credentials or key Secret) its published token was obtained with, read from
 * its token Secret's annotations. A refresh with the same inputs keeps it, and so does a rewrite of
 * the input Secret with the same values; a token from changed values changes it. Undefined without a token
 * Secret this BearerToken holds.
 */
export function tokenCredentialsVersion(tokenSecret: V1Secret | undefined, uid: string): string | undefined {
  if (tokenSecret?.metadata?.annotations?.[holderUidAnnotation] !== uid) return undefined;
  const inputs = readTokenSecret(tokenSecret)?.inputsVersion;
  return inputs ? digest([inputs]) : undefined;
}

/**
 * The pod-template annotation that records which version of an object's credentials a workload
 * was rolled for: `<kind>.reload.datatrails.ai/<name>`, the name shortened with a digest past the
 * 63 characters an annotation name may have.
 */
export function reloadAnnotationKey(kind: "DataTrailsIntegration" | "BearerToken", name: string): string {
  const prefix = kind === "DataTrailsIntegration" ? "integration" : "bearertoken";
  const short = name.length <= 63 ? name : `${name.slice(0, 46)}-${digest([name])}`;
  return `${prefix}.${reloadAnnotationSuffix}/${short}`;
}
