/**
 * Reads what a BearerToken reconcile needs: its spec, its token Secret and the issuer's inputs
 * (client credentials or a private key), all in the object's own namespace; and, when decide asks
 * for one, fetches a token from the issuer (fetchToken).
 */
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import {
  bearerTokenSpec,
  credentialsKeys,
  credentialsShape,
  type BearerToken,
  type BearerTokenSpec,
  specProblems,
} from "../../api/v1alpha1/index.ts";
import type { SecretLookup } from "../../k8s/secret-cache.ts";
import { decodeSecretData } from "../../k8s/secrets.ts";
import { isTokenError } from "../../tokens/errors.ts";
import type { IssuerInputs } from "../../tokens/factory.ts";
import { jwtTimes, type TokenIssuer } from "../../tokens/issuer.ts";
import { tokenTimes } from "../../tokens/schedule.ts";
import { failureKindOf } from "./failures.ts";
import type { Ownership } from "../ownership.ts";
import { claimOf, mayWrite, type SecretClaim } from "../secret-claim.ts";
import type { InputsState, RefreshOutcome, TokenObserved } from "./model.ts";
import { writtenKeyNames } from "../secret-shape.ts";
import { holdsValues, readPublishedToken, readTokenSecret, requestDigest, tokenWriter } from "./secret.ts";

/**
 * The name of the Secret holding the issuer's inputs, and the keys to read from it; undefined when
 * the issuer reads no Secret (a ServiceAccount assertion: nothing is stored).
 */
export function inputSecretRef(spec: BearerTokenSpec): { name: string; keys: string[] } | undefined {
  const cc = spec.dataTrails?.credentialsSecretRef ?? spec.oauth2ClientCredentials?.credentialsSecretRef;
  if (cc) return { name: cc.name, keys: [cc.clientIdKey, cc.clientSecretKey] };
  const assertion = spec.oauth2ClientCredentials?.clientAssertion;
  if (assertion?.certificate) return { name: assertion.certificate.secretRef.name, keys: tlsKeys };
  if (assertion) return undefined;
  const key = spec.jwtBearer?.privateKeySecretRef;
  return { name: key?.name ?? "", keys: [key?.key ?? "private_key"] };
}

/** The keys of a `kubernetes.io/tls` Secret. */
const tlsKeys = ["tls.crt", "tls.key"];

/** The issuer's inputs from the Secret's values, or why they are unusable (naming keys, never values). */
function issuerInputs(spec: BearerTokenSpec, secret: V1Secret | undefined): IssuerInputs | string {
  const ref = inputSecretRef(spec);
  if (!ref) return "no Secret to read";
  if (!secret) return `Secret ${ref.name} not found`;
  const data = decodeSecretData(secret);
  const missing = ref.keys.filter((k) => !data[k]);
  if (missing.length) return `Secret ${ref.name} has no ${missing.join(", ")}`;
  if (spec.jwtBearer) return { kind: "privateKey", privateKeyPem: data[ref.keys[0] ?? ""] ?? "" };
  if (spec.oauth2ClientCredentials?.clientAssertion?.certificate) {
    return {
      kind: "certificate",
      certificatePem: data["tls.crt"] ?? "",
      privateKeyPem: data["tls.key"] ?? "",
    };
  }
  // url and token_url under the names an integration's template gave them (its datatrails.ai/keys).
  const names = writtenKeyNames(credentialsShape, secret);
  const url = data[names[credentialsKeys.url] ?? credentialsKeys.url];
  const tokenUrl = data[names[credentialsKeys.tokenUrl] ?? credentialsKeys.tokenUrl];
  return {
    kind: "clientCredentials",
    clientId: data[ref.keys[0] ?? ""] ?? "",
    clientSecret: data[ref.keys[1] ?? ""] ?? "",
    ...(url ? { url } : {}),
    ...(tokenUrl ? { tokenUrl } : {}),
  };
}

/**
 * The version of the issuer's inputs a token was obtained with: a digest of the values the issuer
 * reads (salted with the input Secret's UID), so that a rewrite of the input Secret with the same
 * values (an integration reshaping its credentials Secret) asks the issuer for nothing.
 */
function inputsVersion(secret: V1Secret | undefined, inputs: IssuerInputs): string {
  const parts =
    inputs.kind === "privateKey"
      ? [inputs.privateKeyPem]
      : inputs.kind === "certificate"
        ? [inputs.certificatePem, inputs.privateKeyPem]
        : inputs.kind === "serviceAccount"
          ? [inputs.namespace]
          : [inputs.clientId, inputs.clientSecret, inputs.url ?? "", inputs.tokenUrl ?? ""];
  const hash = createHash("sha256").update(secret?.metadata?.uid ?? "");
  for (const p of parts) hash.update("\0").update(p);
  return `v2:${hash.digest("hex").slice(0, 32)}`;
}

/**
 * Everything a reconcile reads, plus the issuer inputs and a way to read the published token (both
 * kept out of the observed state, which is logged; the token only to reshape the Secret without a
 * new one). The informer caches token Secrets without their values, so `published` may cost one
 * GET: call it only to reshape.
 */
export async function gatherToken(
  object: BearerToken,
  lookup: SecretLookup,
  ownership: Ownership,
): Promise<{
  observed: TokenObserved;
  inputs: IssuerInputs | undefined;
  published: () => Promise<string | undefined>;
}> {
  const namespace = object.metadata.namespace ?? "";
  const parsed = bearerTokenSpec.safeParse(object.spec);
  const tokenSecretName = parsed.success ? parsed.data.secretName : object.spec.secretName;
  // A BearerToken no reconcile has written status for yet has published nothing: its token Secret
  // is created (POST) if absent, so a name no Secret of the namespace has needs no GET (secret-cache.ts).
  const firstLook = Object.keys(object.status ?? {}).length === 0;
  const raw = await lookup(namespace, tokenSecretName, firstLook ? { toCreate: true } : undefined);
  const secretClaim: SecretClaim = claimOf(raw, {
    me: tokenWriter(object),
    policy: parsed.data?.existingSecretPolicy ?? "Refuse",
    rivals: ownership.secretWriters(namespace, tokenSecretName),
    holderExists: (holder) => ownership.holderExists(namespace, holder),
  });
  // A Secret that is not ours says nothing about our schedule.
  const secret = mayWrite(secretClaim) ? readTokenSecret(raw, parsed.data?.secretTemplate) : undefined;
  const published = () =>
    secret
      ? readPublishedToken(raw, () => lookup(namespace, tokenSecretName, { fresh: true }))
      : Promise.resolve(undefined);
  const specError = !parsed.success
    ? specProblems(parsed.error.issues)
    : inputSecretRef(parsed.data)?.name === parsed.data.secretName
      ? "spec.secretName: must differ from the Secret the issuer reads; a token cannot be written into its own input"
      : undefined;
  if (!parsed.success || specError !== undefined) {
    return {
      observed: {
        object,
        spec: undefined,
        specError: specError ?? "invalid spec",
        secret,
        secretClaim,
        inputs: { state: "failed", message: specError ?? "invalid spec" },
      },
      inputs: undefined,
      published: () => Promise.resolve(undefined),
    };
  }
  const spec = parsed.data;
  const account = spec.oauth2ClientCredentials?.clientAssertion?.serviceAccount;
  if (account) {
    // Nothing stored to read: the ServiceAccount's tokens are asked for at each request. The
    // version names what the token was obtained with, so a restart asks the issuer for nothing.
    return {
      observed: {
        object,
        spec,
        secret,
        secretClaim,
        inputs: { state: "ready", version: `serviceaccount/${account.name}/${account.audience}` },
        request: requestDigest(spec),
      },
      inputs: { kind: "serviceAccount", namespace },
      published,
    };
  }
  const ref = inputSecretRef(spec);
  const looked = ref ? await lookup(namespace, ref.name) : undefined;
  // An input that is one of the operator's token Secrets (another BearerToken's output) is cached
  // without its values: its values come from the API server.
  const inputSecret =
    ref && looked && !holdsValues(looked) ? await lookup(namespace, ref.name, { fresh: true }) : looked;
  const inputs = issuerInputs(spec, inputSecret);
  const state: InputsState =
    typeof inputs === "string"
      ? { state: "failed", message: inputs }
      : {
          state: "ready",
          version: inputsVersion(inputSecret, inputs),
          legacyVersion: `${inputSecret?.metadata?.uid ?? ""}/${inputSecret?.metadata?.resourceVersion ?? ""}`,
        };
  return {
    observed: { object, spec, secret, secretClaim, inputs: state, request: requestDigest(spec) },
    inputs: typeof inputs === "string" ? undefined : inputs,
    published,
  };
}

/** Where tokens come from. */
export interface TokenSource {
  issuerFor(spec: BearerTokenSpec, inputs: IssuerInputs): TokenIssuer;
  /** Verifies a token as spec.verify asks; throws TokenError. */
  verify(token: string, options: NonNullable<BearerTokenSpec["verify"]>): Promise<unknown>;
}

/** Asks the issuer for a token (and verifies it when spec.verify says so); a TokenError becomes a failed outcome. */
export async function fetchToken(
  source: TokenSource,
  o: TokenObserved,
  inputs: IssuerInputs | undefined,
): Promise<RefreshOutcome> {
  if (!o.spec) return { ok: false, kind: "invalid", message: o.specError ?? "invalid spec" };
  if (!inputs)
    return { ok: false, kind: "inputs", message: o.inputs.state === "failed" ? o.inputs.message : "" };
  try {
    const issued = await source.issuerFor(o.spec, inputs).issue();
    // A token that fails verification is never published: the old one stays.
    if (o.spec.verify) await source.verify(issued.accessToken, o.spec.verify);
    const { exp } = jwtTimes(issued.accessToken);
    const times = tokenTimes(issued.receivedAt, issued.expiresInSeconds, exp);
    return { ok: true, ...times, accessToken: issued.accessToken };
  } catch (err) {
    if (!isTokenError(err)) throw err;
    return {
      ok: false,
      kind: failureKindOf[err.code],
      message: err.message,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    };
  }
}
