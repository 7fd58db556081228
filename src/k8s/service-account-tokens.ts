/**
 * The TokenRequest API (`create serviceaccounts/token`): short-lived, audience-bound tokens for a
 * ServiceAccount, the assertions of workload identity federation. The token is returned to the
 * caller and never logged; failures become TokenErrors that name the ServiceAccount and the cause.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { ServiceAccountTokens } from "../tokens/client-assertion.ts";
import { TokenError, TokenErrorCode } from "../tokens/errors.ts";
import { toKubeError } from "./errors.ts";

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
      const e = toKubeError(err, `request a token for ${what}`);
      switch (e.code) {
        case "NotFound":
          throw new TokenError(TokenErrorCode.InvalidInput, `${what} not found`, { status: 404 });
        case "Forbidden":
          throw new TokenError(
            TokenErrorCode.InvalidInput,
            `the operator may not request tokens for ${what} (RBAC: create serviceaccounts/token)`,
            { status: 403 },
          );
        default:
          throw new TokenError(
            e.retryable ? TokenErrorCode.Unavailable : TokenErrorCode.InvalidInput,
            e.message,
            {
              ...(e.status ? { status: e.status } : {}),
              ...(e.retryAfterMs ? { retryAfterMs: e.retryAfterMs } : {}),
            },
          );
      }
    }
    if (!token)
      throw new TokenError(
        TokenErrorCode.MalformedResponse,
        `the TokenRequest for ${what} returned no token`,
      );
    return token;
  }
}
