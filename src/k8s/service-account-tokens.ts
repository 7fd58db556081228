/**
 * The TokenRequest API (`create serviceaccounts/token`): short-lived, audience-bound tokens for a
 * ServiceAccount, the assertions of workload identity federation. A ServiceAccount lends tokens only
 * for the audiences its annotation `datatrails.ai/token-audiences` lists: whoever writes a BearerToken
 * picks the endpoint the token is sent to, so the ServiceAccount's owner must opt in. The token is
 * returned to the caller and never logged; failures become TokenErrors that name the
 * ServiceAccount and the cause.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { serviceAccountAudiencesAnnotation } from "../api/v1alpha1/bearer-token.ts";
import type { ServiceAccountTokens } from "../tokens/client-assertion.ts";
import { TokenError, TokenErrorCode } from "../tokens/errors.ts";
import { toKubeError, type KubeError } from "./errors.ts";

/** {@link ServiceAccountTokens} on the Kubernetes API. */
export class KubeServiceAccountTokens implements ServiceAccountTokens {
  readonly #api: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.#api = kubeConfig.makeApiClient(CoreV1Api);
  }

  async request(
    account: { namespace: string; name: string },
    options: { audience: string; expirationSeconds: number },
  ): Promise<string> {
    const what = `ServiceAccount ${account.namespace}/${account.name}`;
    await this.#checkOptIn(account, options.audience, what);
    let token: string | undefined;
    try {
      const answer = await this.#api.createNamespacedServiceAccountToken({
        name: account.name,
        namespace: account.namespace,
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { audiences: [options.audience], expirationSeconds: options.expirationSeconds },
        },
      });
      token = answer.status?.token;
    } catch (err) {
      throw tokenErrorOf(
        toKubeError(err, `request a token for ${what}`),
        what,
        "create serviceaccounts/token",
      );
    }
    if (!token) {
      throw new TokenError(
        TokenErrorCode.MalformedResponse,
        `the TokenRequest for ${what} returned no token`,
      );
    }
    return token;
  }

  /** The ServiceAccount must list `audience` in its opt-in annotation. */
  async #checkOptIn(account: { namespace: string; name: string }, audience: string, what: string) {
    let annotations: Record<string, string>;
    try {
      const sa = await this.#api.readNamespacedServiceAccount({
        name: account.name,
        namespace: account.namespace,
      });
      annotations = sa.metadata?.annotations ?? {};
    } catch (err) {
      throw tokenErrorOf(toKubeError(err, `read ${what}`), what, "get serviceaccounts");
    }
    const allowed = (annotations[serviceAccountAudiencesAnnotation] ?? "")
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean);
    if (!allowed.includes(audience)) {
      throw new TokenError(
        TokenErrorCode.InvalidInput,
        `${what} does not lend tokens for audience ${audience}: its annotation ${serviceAccountAudiencesAnnotation} must list it`,
      );
    }
  }
}

/** A Kubernetes failure about the ServiceAccount, as a TokenError naming it and the cause. */
function tokenErrorOf(e: KubeError, what: string, permission: string): TokenError {
  switch (e.code) {
    case "NotFound":
      return new TokenError(TokenErrorCode.InvalidInput, `${what} not found`, { status: 404 });
    case "Forbidden":
      return new TokenError(
        TokenErrorCode.InvalidInput,
        `the operator may not use ${what} (RBAC: ${permission})`,
        {
          status: 403,
        },
      );
    default:
      return new TokenError(
        e.retryable ? TokenErrorCode.Unavailable : TokenErrorCode.InvalidInput,
        e.message,
        {
          ...(e.status ? { status: e.status } : {}),
          ...(e.retryAfterMs ? { retryAfterMs: e.retryAfterMs } : {}),
        },
      );
  }
}
