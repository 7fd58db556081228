/**
 * The request pipeline every DataTrails call goes through: the admin bearer token (cached, refreshed
 * early, one request shared by concurrent callers; a 401 drops it and an idempotent call is sent once
 * more), the client-side token bucket, one HTTP exchange, zod validation, and bounded jittered
 * retries for idempotent calls only. Non-idempotent calls (create, regenerate-secret) are sent
 * exactly once, whatever happens. Logs name the operation, path, status and timing, never bodies,
 * headers, secrets or tokens.
 */
import type { Logger } from "pino";
import type { z } from "zod";
import { clientCredentialsRequest, type GrantRequest } from "../http/token-endpoint.ts";
import type { AccessToken, ClientCredentials } from "./api.ts";
import type { TokenBucket } from "./rate-limiter.ts";
import { requestRetryDelayMs, type RequestRetryPolicy } from "./request-retry.ts";
import { SingleFlightToken } from "./token-cache.ts";
import { readResult, transportError, type HttpTransport } from "./transport.ts";
import { toAccessToken, tokenResponseWire } from "./wire.ts";

/** The token endpoint, under the base URL. */
export const tokenEndpointPath = "/archivist/iam/v1/appidp/token";

/** One call: what to send, how to read the answer, and whether it may be sent twice. */
export interface CallSpec<S extends z.ZodType> {
  operation: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  /** A body other than JSON, with the headers that go with it (content-type included). */
  raw?: GrantRequest;
  schema: S;
  /** Whether sending it twice has the effect of sending it once. */
  idempotent: boolean;
  /** Whether it needs the admin bearer token. */
  admin: boolean;
}

/** What the pipeline is built from. */
export interface RequestPipelineParts {
  /** A path prefix from the base URL ("" for none). */
  prefix: string;
  transport: HttpTransport;
  adminCredentials: ClientCredentials;
  tokenRefreshMarginMs: number;
  retry: RequestRetryPolicy;
  bucket: TokenBucket | undefined;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  logger: Logger | undefined;
  observer: CallObserver | undefined;
}

/** One finished attempt, for metrics: the operation names the endpoint, never an id. */
export interface CallRecord {
  operation: string;
  /** The HTTP status, or the error code when there was no response. */
  outcome: string;
  durationMs: number;
}

/** Receives every attempt, successful or not. */
export type CallObserver = (call: CallRecord) => void;

/** Runs calls against DataTrails with auth, rate limit, validation and retries. */
export class RequestPipeline {
  private readonly parts: RequestPipelineParts;
  private readonly adminToken: SingleFlightToken;

  constructor(parts: RequestPipelineParts) {
    this.parts = parts;
    this.adminToken = new SingleFlightToken(
      () => this.requestToken(parts.adminCredentials, "get admin token"),
      parts.now,
      parts.tokenRefreshMarginMs,
    );
  }

  /** Exchanges client credentials for a token (idempotent: retried); the grant is the issuers' own. */
  async requestToken(
    credentials: ClientCredentials,
    operation: string,
    signal?: AbortSignal,
  ): Promise<AccessToken> {
    const { value, sentAtMs } = await this.run(
      {
        operation,
        method: "POST",
        path: tokenEndpointPath,
        raw: clientCredentialsRequest(credentials),
        schema: tokenResponseWire,
        idempotent: true,
        admin: false,
      },
      signal,
    );
    return toAccessToken(value, sentAtMs);
  }

  private async wait(ms: number, operation: string, signal: AbortSignal | undefined): Promise<void> {
    if (ms <= 0) return;
    try {
      await this.parts.sleep(ms, signal);
    } catch (error) {
      throw transportError(error, operation, signal);
    }
  }

  private async bearer(operation: string, signal: AbortSignal | undefined): Promise<string> {
    try {
      return (await this.adminToken.get(signal)).accessToken;
    } catch (error) {
      throw transportError(error, operation, signal);
    }
  }

  /** Runs one call; the value is validated, sentAtMs is when its (last) request left. */
  async run<S extends z.ZodType>(
    spec: CallSpec<S>,
    signal: AbortSignal | undefined,
  ): Promise<{ value: z.output<S>; sentAtMs: number }> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) query.set(k, v);
    const path = `${this.parts.prefix}${spec.path}${query.size > 0 ? `?${query.toString()}` : ""}`;
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": "datatrails-operator",
    };
    let body: string | undefined;
    if (spec.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(spec.json);
    } else if (spec.raw !== undefined) {
      Object.assign(headers, spec.raw.headers);
      body = spec.raw.body;
    }

    let attempt = 0;
    let reauthenticated = false;
    for (;;) {
      attempt += 1;
      if (signal?.aborted) throw transportError(signal.reason, spec.operation, signal);
      const token = spec.admin ? await this.bearer(spec.operation, signal) : undefined;
      if (this.parts.bucket) await this.wait(this.parts.bucket.reserve(), spec.operation, signal);
      const sentAtMs = this.parts.now();
      const log = { operation: spec.operation, method: spec.method, path: spec.path, attempt };
      try {
        const result = await this.parts.transport.send(
          {
            method: spec.method,
            path,
            headers: token === undefined ? headers : { ...headers, authorization: `Bearer ${token}` },
            ...(body === undefined ? {} : { body }),
          },
          spec.operation,
          signal,
        );
        const value = readResult(result, spec.schema, spec.operation, this.parts.now());
        const durationMs = this.parts.now() - sentAtMs;
        this.parts.logger?.debug({ ...log, status: result.status, durationMs }, "datatrails call");
        this.parts.observer?.({ operation: spec.operation, outcome: String(result.status), durationMs });
        return { value, sentAtMs };
      } catch (caught) {
        const error = transportError(caught, spec.operation, signal);
        const durationMs = this.parts.now() - sentAtMs;
        this.parts.logger?.debug(
          { ...log, status: error.status, code: error.code, durationMs },
          "datatrails call failed",
        );
        this.parts.observer?.({
          operation: spec.operation,
          outcome: String(error.status ?? error.code),
          durationMs,
        });
        if (error.code === "Unauthenticated" && token !== undefined) {
          this.adminToken.invalidate(token);
          if (spec.idempotent && !reauthenticated) {
            reauthenticated = true;
            attempt -= 1;
            continue;
          }
          throw error;
        }
        if (!spec.idempotent) throw error;
        const delay = requestRetryDelayMs(error, attempt, this.parts.retry, this.parts.random);
        if (delay === undefined) throw error;
        this.parts.logger?.debug({ ...log, code: error.code, delayMs: delay }, "datatrails call retried");
        await this.wait(delay, spec.operation, signal);
      }
    }
  }
}
