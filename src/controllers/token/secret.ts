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
  tokenShape,
  type BearerToken,
  type RenderingName,
  type BearerTokenSpec,
  type SecretTemplate,
} from "../../api/v1alpha1/index.ts";
import { decodeSecretData, type AppliedSecret } from "../../k8s/secrets.ts";
import { ownershipOf, type SecretClaim, type SecretWriter } from "../secret-claim.ts";
import {
  readValues,
  render,
  shapeSecret,
  staleFields,
  writtenWith,
  type StaleFields,
} from "../secret-shape.ts";
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
/**
 * Annotation: a digest of what the token was requested with, apart from the input values (which
 * inputs-version covers): the issuer's settings and spec.verify. A spec change elsewhere (the
 * Secret's template, existingSecretPolicy) then asks the issuer for nothing.
 */
const requestAnnotation = "datatrails.ai/request";

/** Exactly what the DataTrails docs tell users to pass to `curl -H @file`. */
export function bearerFile(accessToken: string): string {
  return `Authorization: Bearer ${accessToken}\n`;
}

function digest(accessToken: string): string {
  return createHash("sha256").update(bearerFile(accessToken)).digest("hex").slice(0, 16);
}

/**
 * A digest of the spec fields a token request depends on, other than the input Secret's values:
 * the issuer's settings (without the references to its input Secrets) and spec.verify.
 */
export function requestDigest(spec: BearerTokenSpec): string {
  const { credentialsSecretRef: _dt, ...dataTrails } = spec.dataTrails ?? { credentialsSecretRef: undefined };
  const { credentialsSecretRef: _cc, ...oauth2 } = spec.oauth2ClientCredentials ?? {
    credentialsSecretRef: undefined,
  };
  const { privateKeySecretRef: _pk, ...jwt } = spec.jwtBearer ?? { privateKeySecretRef: undefined };
  const request = {
    ...(spec.dataTrails ? { dataTrails } : {}),
    ...(spec.oauth2ClientCredentials ? { oauth2ClientCredentials: oauth2 } : {}),
    ...(spec.jwtBearer ? { jwtBearer: jwt } : {}),
    ...(spec.verify ? { verify: spec.verify } : {}),
  };
  return createHash("sha256").update(stableJson(request)).digest("hex").slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** What the token was obtained with, recorded on the Secret: the inputs' version, the generation, the request, the refresh request it answers. */
export interface TokenProvenance {
  inputsVersion: string;
  generation: number;
  request: string;
  /** The datatrails.ai/refresh-requested-at value the token answers, if any. */
  refreshRequest?: string;
}

/** The canonical values and the bookkeeping annotations of a token Secret. */
export function tokenSecretContent(
  accessToken: string,
  times: { issuedAt: Date; expiresAt: Date },
  provenance: TokenProvenance,
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
      [inputsVersionAnnotation]: provenance.inputsVersion,
      [generationAnnotation]: String(provenance.generation),
      [requestAnnotation]: provenance.request,
      [digestAnnotation]: digest(accessToken),
      ...(provenance.refreshRequest !== undefined
        ? { [refreshRequestAnnotation]: provenance.refreshRequest }
        : {}),
    },
  };
}

function date(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/**
 * What reading a token Secret back needs of its values, never a value: computed from the values
 * once, when the Secret enters the informer's cache ({@link withoutTokenValues}), so that the
 * cache need not keep the token.
 */
interface TokenValueFacts {
  /** The names of the Secret's data keys. */
  keys: readonly string[];
  /** Whether it holds a non-empty token. */
  hasToken: boolean;
  /** Whether the values agree with each other and with the digest and expires-at annotations. */
  valuesAgree: boolean;
  /** The renderings whose key holds what the values render to. */
  renderings: readonly RenderingName[];
}

/** Where a cached token Secret carries its {@link TokenValueFacts} (a symbol: never serialised, never sent). */
const valueFactsKey: unique symbol = Symbol("token Secret value facts");
type WithValueFacts = V1Secret & { [valueFactsKey]?: TokenValueFacts };

const renderingNames = Object.keys(tokenShape.renderingKeys) as RenderingName[];
const noRenderings: readonly RenderingName[] = [];

function valueFacts(secret: V1Secret): TokenValueFacts {
  const annotations = secret.metadata?.annotations ?? {};
  const values = readValues(tokenShape, secret);
  const data = decodeSecretData(secret);
  const accessToken = values[tokenKeys.accessToken];
  const renderings = renderingNames.filter(
    (r) => data[tokenShape.renderingKeys[r]] === render(tokenShape, r, values),
  );
  return {
    keys: Object.keys(secret.data ?? {}),
    hasToken: accessToken !== undefined && accessToken.length > 0,
    valuesAgree:
      accessToken !== undefined &&
      values[tokenKeys.bearerFile] === bearerFile(accessToken) &&
      values[tokenKeys.expiresAt] === annotations[expiresAtAnnotation] &&
      annotations[digestAnnotation] === digest(accessToken),
    renderings: renderings.length ? renderings : noRenderings,
  };
}

/** Whether a Secret of ours is a token Secret (written by a BearerToken), whose values the cache need not keep. */
function isTokenSecret(secret: V1Secret): boolean {
  return secret.metadata?.labels?.[ownerLabel]?.startsWith("bearertoken.") === true;
}

/**
 * A token Secret as the informer caches it: without its values (the token, twice, and its expiry),
 * with what {@link readTokenSecret} needs of them computed now. Any other Secret is returned as it
 * is. The token itself is read from the API server when needed ({@link publishedToken}).
 */
export function withoutTokenValues(secret: V1Secret): V1Secret {
  if (!isTokenSecret(secret) || secret.data === undefined) return secret;
  const { data: _values, ...rest } = secret;
  const out: WithValueFacts = { ...rest, [valueFactsKey]: valueFacts(secret) };
  return out;
}

/** Whether the Secret holds its values (false for a token Secret as the informer caches it). */
export function holdsValues(secret: V1Secret): boolean {
  return (secret as WithValueFacts)[valueFactsKey] === undefined;
}

/**
 * Reads a token Secret back into what scheduling needs, under the key names it was written with
 * (secret-shape.ts); never returns the token. `template` is the one the spec asks for now:
 * `shapeCurrent` says whether the Secret is already shaped by it. The Secret may be one the
 * informer cached without its values ({@link withoutTokenValues}): the answer is the same.
 */
export function readTokenSecret(
  secret: V1Secret | undefined,
  template?: SecretTemplate,
): TokenSecretView | undefined {
  if (!secret) return undefined;
  const annotations = secret.metadata?.annotations ?? {};
  const facts = (secret as WithValueFacts)[valueFactsKey] ?? valueFacts(secret);
  // staleFields asks only which keys are present.
  const keyed = secret.data
    ? secret
    : { ...secret, data: Object.fromEntries(facts.keys.map((k) => [k, ""])) };
  const stale = staleFields(tokenShape, keyed, template);
  const generation = Number(annotations[generationAnnotation]);
  const issuedAt = date(annotations[issuedAtAnnotation]);
  const expiresAt = date(annotations[expiresAtAnnotation]);
  return {
    resourceVersion: secret.metadata?.resourceVersion ?? "",
    hasToken: facts.hasToken,
    ...(issuedAt ? { issuedAt } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(annotations[inputsVersionAnnotation] ? { inputsVersion: annotations[inputsVersionAnnotation] } : {}),
    ...(Number.isInteger(generation) ? { generation } : {}),
    ...(annotations[requestAnnotation] ? { request: annotations[requestAnnotation] } : {}),
    ...(annotations[refreshRequestAnnotation] !== undefined
      ? { refreshRequest: annotations[refreshRequestAnnotation] }
      : {}),
    wellFormed: facts.valuesAgree,
    shapeCurrent:
      writtenWith(template, secret) &&
      (template?.renderings ?? []).every((r) => facts.renderings.includes(r)),
    ...(stale.data.length + stale.labels.length + stale.annotations.length ? { stale } : {}),
  };
}

/**
 * The published token, read back from the operator's own token Secret to reshape it; undefined
 * for a Secret cached without its values (read it from the API server). Holds the token: never logged.
 */
export function publishedToken(secret: V1Secret | undefined): string | undefined {
  return readValues(tokenShape, secret)[tokenKeys.accessToken];
}

/**
 * The token a Secret of ours publishes, for a reshape: from `secret` itself when it holds its
 * values (the operator's own last write), else from one GET, taken only if that Secret is the one
 * `secret` describes (it publishes the same token, well formed). Holds the token: never logged.
 */
export async function readPublishedToken(
  secret: V1Secret | undefined,
  read: () => Promise<V1Secret | undefined>,
): Promise<string | undefined> {
  if (!secret) return undefined;
  if (holdsValues(secret)) return publishedToken(secret);
  const fresh = await read();
  const digestOf = (s: V1Secret | undefined) => s?.metadata?.annotations?.[digestAnnotation];
  if (!fresh || digestOf(fresh) !== digestOf(secret) || !valueFacts(fresh).valuesAgree) return undefined;
  return publishedToken(fresh);
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
 * The whole token Secret to write: the token, its times, the holder and ownership metadata the
 * claim allows, shaped by spec.secretTemplate. Holds the token: never logged.
 */
export function tokenSecret(
  object: BearerToken,
  spec: BearerTokenSpec,
  claim: Extract<SecretClaim, { state: "free" | "mine" }>,
  accessToken: string,
  times: { issuedAt: Date; expiresAt: Date },
  inputsVersion: string,
  refreshRequest?: string,
  remove?: StaleFields,
): AppliedSecret {
  const content = tokenSecretContent(accessToken, times, {
    inputsVersion,
    generation: object.metadata.generation,
    request: requestDigest(spec),
    ...(refreshRequest !== undefined ? { refreshRequest } : {}),
  });
  const ownership = ownershipOf(tokenWriter(object), claim, spec.existingSecretPolicy ?? "Refuse");
  const shaped = shapeSecret(tokenShape, spec.secretTemplate, content.stringData, {
    labels: { [managedByLabel]: managedByValue, [ownerLabel]: `bearertoken.${object.metadata.name}` },
    annotations: { ...content.annotations, ...ownership.annotations },
  });
  return {
    namespace: object.metadata.namespace ?? "",
    name: spec.secretName,
    labels: shaped.labels,
    annotations: shaped.annotations,
    ownerReferences: ownership.ownerReferences,
    keepType: ownership.adopted,
    ...(shaped.type ? { type: shaped.type } : {}),
    data: shaped.data,
    ...(remove ? { remove } : {}),
  };
}
