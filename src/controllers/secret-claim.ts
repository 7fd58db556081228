/**
 * Who may write an output Secret (a credentials Secret, a token Secret). The operator writes, owns
 * or deletes a Secret only if it is provably its own (design.md, invariant 8):
 *
 * - it is absent: the operator creates it (POST, so a Secret someone made a moment earlier is never
 *   overwritten) and records itself as the holder;
 * - it names this object as its holder (the `datatrails.ai/holder-uid` annotation), or, for Secrets
 *   written before holders were recorded, carries this object as its controller ownerReference;
 * - the object opted in to taking over an existing Secret (`existingSecretPolicy: Merge` or `Adopt`)
 *   and no other of the operator's objects holds it.
 *
 * Anything else is left byte for byte and the object that names it says why, naming the holder.
 * Two objects naming one Secret never fight: the one holding it keeps it, and while nobody holds
 * it yet, the older object (by creation time, then UID) goes first.
 */
import type { V1OwnerReference, V1Secret } from "@kubernetes/client-node";
import { apiVersion } from "../api/v1alpha1/index.ts";

/** Annotation on a Secret the operator writes: `<Kind>/<name>` of the object that holds it. */
export const holderAnnotation = "datatrails.ai/holder";
/** Annotation on a Secret the operator writes: the UID of the object that holds it (the proof). */
export const holderUidAnnotation = "datatrails.ai/holder-uid";
/** Annotation on a Secret the operator took over (it existed before, and is not the operator's to delete). */
export const adoptedAnnotation = "datatrails.ai/adopted";

/** The kinds that write Secrets. */
export type WriterKind = "DataTrailsIntegration" | "BearerToken";

/** An object that writes a Secret. */
export interface SecretWriter {
  kind: WriterKind;
  namespace: string;
  name: string;
  uid: string;
  creationTimestamp?: string | undefined;
}

/**
 * What to do with an existing Secret that the operator did not create: `Refuse` leaves it alone
 * (the default), `Merge` writes the operator's keys into it and leaves the rest (it is not deleted
 * with the object), `Adopt` does the same and makes the object its owner, so the garbage collector
 * deletes it with the object.
 */
export type ExistingSecretPolicy = "Refuse" | "Merge" | "Adopt";

/** Who holds a Secret, as far as its annotations and ownerReferences say. */
export interface Holder {
  kind: string;
  name: string;
  uid: string;
}

/** Whether the object may write the Secret, and how. */
export type SecretClaim =
  /** Absent: create it, owned by the object. */
  | { state: "free" }
  /** The object's own. `adopted`: it existed before the object took it over (Merge or Adopt), so it is not the operator's to delete. */
  | { state: "mine"; adopted: boolean }
  /** Another of the operator's objects holds it (or goes first); nothing is written. */
  | { state: "held"; holder: Holder }
  /** Someone else's Secret (a user's), and the object did not opt in to taking it over. */
  | { state: "foreign" };

/** `<Kind>/<name>` for a holder annotation. */
function holderValue(writer: SecretWriter): string {
  return `${writer.kind}/${writer.name}`;
}

/** The holder a Secret names: the annotations, else (Secrets of earlier versions) a controller ownerReference of ours. */
function holderOf(secret: V1Secret): Holder | undefined {
  const annotations = secret.metadata?.annotations ?? {};
  const uid = annotations[holderUidAnnotation];
  if (uid) {
    const [kind = "", ...rest] = (annotations[holderAnnotation] ?? "").split("/");
    return { kind, name: rest.join("/"), uid };
  }
  const ref = (secret.metadata?.ownerReferences ?? []).find(
    (o) => o.controller === true && o.apiVersion === apiVersion,
  );
  return ref ? { kind: ref.kind, name: ref.name, uid: ref.uid } : undefined;
}

/** Whether `a` was created before `b` (by creation time, then by UID, so that two objects always agree). */
export function goesFirst(a: SecretWriter, b: SecretWriter): boolean {
  const ta = Date.parse(a.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.creationTimestamp ?? "") || 0;
  return ta !== tb ? ta < tb : a.uid < b.uid;
}

/** What claimOf needs to know besides the Secret. */
export interface ClaimContext {
  me: SecretWriter;
  policy: ExistingSecretPolicy;
  /** Other objects that name the same Secret as an output (from the caches). */
  rivals: readonly SecretWriter[];
  /** Whether the holder a Secret names still exists (same kind, namespace, name and UID). */
  holderExists(holder: Holder): boolean;
}

/** Decides whether `ctx.me` may write `secret`; see the module comment. */
export function claimOf(secret: V1Secret | undefined, ctx: ClaimContext): SecretClaim {
  const first = ctx.rivals.find((r) => r.uid !== ctx.me.uid && goesFirst(r, ctx.me));
  if (!secret) {
    return first
      ? { state: "held", holder: { kind: first.kind, name: first.name, uid: first.uid } }
      : { state: "free" };
  }
  const holder = holderOf(secret);
  if (holder?.uid === ctx.me.uid) {
    return { state: "mine", adopted: secret.metadata?.annotations?.[adoptedAnnotation] === "true" };
  }
  if (holder && ctx.holderExists(holder)) return { state: "held", holder };
  // Nobody of ours holds it (a user's Secret, or one whose holder is gone): taken over only on request.
  if (ctx.policy === "Refuse") return { state: "foreign" };
  if (first) return { state: "held", holder: { kind: first.kind, name: first.name, uid: first.uid } };
  return { state: "mine", adopted: true };
}

/** Whether the claim lets the object write. */
export function mayWrite(claim: SecretClaim): claim is Extract<SecretClaim, { state: "free" | "mine" }> {
  return claim.state === "free" || claim.state === "mine";
}

/** The ownerReference that makes the garbage collector delete the Secret with its writer. */
function writerOwnerRef(writer: SecretWriter): V1OwnerReference {
  return {
    apiVersion,
    kind: writer.kind,
    name: writer.name,
    uid: writer.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The ownership metadata of a Secret the claim lets the object write: the holder annotations, and
 * the ownerReference unless the Secret was taken over with `Merge` (it is not the operator's to delete).
 */
export function ownershipOf(
  writer: SecretWriter,
  claim: Extract<SecretClaim, { state: "free" | "mine" }>,
  policy: ExistingSecretPolicy,
): { annotations: Record<string, string>; ownerReferences: V1OwnerReference[]; adopted: boolean } {
  const adopted = claim.state === "mine" && claim.adopted;
  return {
    annotations: {
      [holderAnnotation]: holderValue(writer),
      [holderUidAnnotation]: writer.uid,
      ...(adopted ? { [adoptedAnnotation]: "true" } : {}),
    },
    ownerReferences: !adopted || policy === "Adopt" ? [writerOwnerRef(writer)] : [],
    adopted,
  };
}

/** Why the object may not write the Secret, for a condition message and an Event (names, never values). */
export function claimProblem(secretName: string, claim: SecretClaim): string | undefined {
  switch (claim.state) {
    case "held":
      return (
        `Secret ${secretName} is held by ${claim.holder.kind} ${claim.holder.name}; it is left as it is. ` +
        `Name another Secret, or delete ${claim.holder.kind} ${claim.holder.name}.`
      );
    case "foreign":
      return (
        `Secret ${secretName} exists and was not created by the operator; it is left as it is. ` +
        `Name another Secret, or set existingSecretPolicy to Merge or Adopt to take it over.`
      );
    default:
      return undefined;
  }
}
