/**
 * The token Secret's format: what the operator writes and how it reads its own writing back. The
 * Secret is the schedule's memory: after a restart the next refresh time is computed from the
 * annotations here, with no request to the issuer.
 */
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import {
  expiresAtAnnotation,
  managedByLabel,
  managedByValue,
  ownerLabel,
  rfc3339,
  tokenKeys,
  type BearerToken,
  type BearerTokenSpec,
} from "../../api/v1alpha1/index.ts";
import type { AppliedSecret } from "../../k8s/secrets.ts";
import { ownershipOf, type SecretClaim, type SecretWriter } from "../secret-claim.ts";
import type { TokenSecretView } from "./model.ts";

/** Annotation: when the token was obtained (RFC 3339). */
const issuedAtAnnotation = "datatrails.ai/issued-at";
/** Annotation: the version of the credentials or key the token was obtained with. */
const inputsVersionAnnotation = "datatrails.ai/inputs-version";
/** Annotation: the BearerToken generation the token was obtained for. */
const generationAnnotation = "datatrails.ai/generation";
/**
 * Annotation: the datatrails.ai/refresh-requested-at value the token answers (the last one acted on).
 * The Secret is read fresh, the BearerToken from the cache: the reconcile that follows a publish
 * must not take a request already answered for a new one.
 */
const refreshRequestAnnotation = "datatrails.ai/refresh-request";
/** Annotation: a digest of the published file, to notice a hand-edited Secret without keeping the token around. */
const digestAnnotation = "datatrails.ai/digest";

/** Exactly what the DataTrails docs tell users to pass to `curl -H @file`. */
export function bearerFile(accessToken: string): string {
  return `Authorization: Bearer ${accessToken}\n`;
}

function digest(accessToken: string): string {
  return createHash("sha256").update(bearerFile(accessToken)).digest("hex").slice(0, 16);
}

/** The data (as strings) and annotations of a token Secret. */
export function tokenSecretContent(
  accessToken: string,
  times: { issuedAt: Date; expiresAt: Date },
  inputsVersion: string,
  generation: number,
  refreshRequest?: string,
): { stringData: Record<string, string>; annotations: Record<string, string> } {
  const expiresAt = rfc3339(times.expiresAt);
  return {
    stringData: {
      [tokenKeys.accessToken]: accessToken,
      [tokenKeys.bearerFile]: bearerFile(accessToken),
      [tokenKeys.expiresAt]: expiresAt,
    },
    annotations: {
      [expiresAtAnnotation]: expiresAt,
      [issuedAtAnnotation]: rfc3339(times.issuedAt),
      [inputsVersionAnnotation]: inputsVersion,
      [generationAnnotation]: String(generation),
      [digestAnnotation]: digest(accessToken),
      ...(refreshRequest !== undefined ? { [refreshRequestAnnotation]: refreshRequest } : {}),
    },
  };
}

function decoded(secret: V1Secret, key: string): string | undefined {
  const raw = secret.data?.[key];
  return raw === undefined ? undefined : Buffer.from(raw, "base64").toString("utf8");
}

function date(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** Reads a token Secret back into what scheduling needs; never returns the token. */
export function readTokenSecret(secret: V1Secret | undefined): TokenSecretView | undefined {
  if (!secret) return undefined;
  const annotations = secret.metadata?.annotations ?? {};
  const accessToken = decoded(secret, tokenKeys.accessToken);
  const generation = Number(annotations[generationAnnotation]);
  const issuedAt = date(annotations[issuedAtAnnotation]);
  const expiresAt = date(annotations[expiresAtAnnotation]);
  const wellFormed =
    accessToken !== undefined &&
    decoded(secret, tokenKeys.bearerFile) === bearerFile(accessToken) &&
    decoded(secret, tokenKeys.expiresAt) === annotations[expiresAtAnnotation] &&
    annotations[digestAnnotation] === digest(accessToken);
  return {
    resourceVersion: secret.metadata?.resourceVersion ?? "",
    hasToken: accessToken !== undefined && accessToken.length > 0,
    ...(issuedAt ? { issuedAt } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(annotations[inputsVersionAnnotation] ? { inputsVersion: annotations[inputsVersionAnnotation] } : {}),
    ...(Number.isInteger(generation) ? { generation } : {}),
    ...(annotations[refreshRequestAnnotation] !== undefined
      ? { refreshRequest: annotations[refreshRequestAnnotation] }
      : {}),
    wellFormed,
  };
}

/** The BearerToken as the writer of its token Secret. */
export function tokenWriter(object: BearerToken): SecretWriter {
  return {
    kind: "BearerToken",
    namespace: object.metadata.namespace ?? "",
    name: object.metadata.name,
    uid: object.metadata.uid,
    creationTimestamp: object.metadata.creationTimestamp,
  };
}

/**
 * The whole token Secret to write: the token, its times, and the holder and ownership metadata the
 * claim allows. Holds the token: never logged.
 */
export function tokenSecret(
  object: BearerToken,
  spec: BearerTokenSpec,
  claim: Extract<SecretClaim, { state: "free" | "mine" }>,
  accessToken: string,
  times: { issuedAt: Date; expiresAt: Date },
  inputsVersion: string,
  refreshRequest?: string,
): AppliedSecret {
  const content = tokenSecretContent(
    accessToken,
    times,
    inputsVersion,
    object.metadata.generation,
    refreshRequest,
  );
  const ownership = ownershipOf(tokenWriter(object), claim, spec.existingSecretPolicy ?? "Refuse");
  return {
    namespace: object.metadata.namespace ?? "",
    name: spec.secretName,
    labels: { [managedByLabel]: managedByValue, [ownerLabel]: `bearertoken.${object.metadata.name}` },
    annotations: { ...content.annotations, ...ownership.annotations },
    ownerReferences: ownership.ownerReferences,
    keepType: ownership.adopted,
    data: content.stringData,
  };
}
