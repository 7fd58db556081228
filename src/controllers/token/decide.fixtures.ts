/** Fixtures shared by the BearerToken decide tests: a clock origin, a BearerToken, a fresh token Secret. */
import { bearerTokenSpec, type BearerToken, type BearerTokenStatus } from "../../api/v1alpha1/index.ts";
import type { TokenSecretView } from "./model.ts";

export const t0 = new Date("2026-03-01T00:00:00Z");
export const min = 60_000;
export const at = (ms: number) => new Date(t0.getTime() + ms);

/** A BearerToken issued by DataTrails from the Secret tl-credentials into tl-token. */
export function bearerToken(
  opts: {
    name?: string;
    generation?: number;
    status?: BearerTokenStatus | undefined;
    annotations?: Record<string, string>;
    suspend?: boolean;
  } = {},
): BearerToken {
  return {
    apiVersion: "datatrails.ai/v1alpha1",
    kind: "BearerToken",
    metadata: {
      name: opts.name ?? "tl",
      namespace: "ns",
      uid: "uid-42",
      generation: opts.generation ?? 1,
      resourceVersion: "1",
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: bearerTokenSpec.parse({
      secretName: "tl-token",
      dataTrails: { credentialsSecretRef: { name: "tl-credentials" } },
      ...(opts.suspend !== undefined ? { suspend: opts.suspend } : {}),
    }),
    ...(opts.status ? { status: opts.status } : {}),
  };
}

/** The token Secret as the operator wrote it at t0: a token valid for an hour, of the current shape. */
export const goodSecret: TokenSecretView = {
  resourceVersion: "7",
  hasToken: true,
  issuedAt: t0,
  expiresAt: at(60 * min),
  inputsVersion: "creds/3",
  generation: 1,
  wellFormed: true,
  shapeCurrent: true,
};
