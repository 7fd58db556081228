/**
 * Who this process runs as, in a pod: the ServiceAccount named by the token the kubelet mounts at
 * /var/run/secrets/kubernetes.io/serviceaccount/token. Only its name, namespace and UID are read (the
 * token is decoded, not verified, and never kept or logged): the leader-election Lease names that
 * ServiceAccount as its owner, so uninstalling the chart (which deletes the ServiceAccount) lets the
 * garbage collector delete the Lease too. Outside a pod there is no such file and no owner.
 */
import { readFileSync } from "node:fs";
import type { V1OwnerReference } from "@kubernetes/client-node";
import { decodeJwt } from "jose";

/** Where the kubelet mounts a pod's ServiceAccount token. */
export const serviceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** The ServiceAccount a projected token names. */
export interface ServiceAccountIdentity {
  namespace: string;
  name: string;
  uid: string;
}

/** The ServiceAccount the token at `path` names, or undefined when there is none or it names none. */
export function ownServiceAccount(path = serviceAccountTokenPath): ServiceAccountIdentity | undefined {
  let token: string;
  try {
    token = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  try {
    const claims = decodeJwt(token)["kubernetes.io"] as
      { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown } } | undefined;
    const { namespace } = claims ?? {};
    const { name, uid } = claims?.serviceaccount ?? {};
    if (typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string")
      return undefined;
    return { namespace, name, uid };
  } catch {
    return undefined;
  }
}

/** An ownerReference to `account` for an object in `namespace`; none across namespaces. */
export function serviceAccountOwner(
  account: ServiceAccountIdentity | undefined,
  namespace: string,
): V1OwnerReference | undefined {
  if (!account || account.namespace !== namespace) return undefined;
  return { apiVersion: "v1", kind: "ServiceAccount", name: account.name, uid: account.uid };
}
