/**
 * One HTTP exchange with DataTrails over an undici Pool (keep-alive, connect/headers/body timeouts),
 * and the reading of its answer: a validated value for a 2xx, a DataTrailsError for anything else
 * (with the wait a 429 or 503 asks for, read by src/http/retry-after.ts). Auth, the rate limit and
 * retries live in request-pipeline.ts; this module does one attempt.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Pool, type Dispatcher } from "undici";
import type { z } from "zod";
import { codeForStatus, DataTrailsError, sanitisedCause, type DataTrailsErrorCode } from "./errors.ts";
import { waitRequestedBy } from "../http/retry-after.ts";
import { errorBodyWire } from "./wire.ts";

/** Connection and response timeouts, in milliseconds. */
export interface Timeouts {
  /** Establishing the TCP (and TLS) connection. */
  connectMs: number;
  /** From sending the request to the end of the response headers. */
  headersMs: number;
  /** Between chunks of the response body. */
  bodyMs: number;
  /** How long an idle keep-alive connection is kept. */
  keepAliveMs: number;
}

/** Defaults: 5 s to connect, 15 s for headers and body, idle connections kept 4 s. */
export const defaultTimeouts: Timeouts = {
  connectMs: 5_000,
  headersMs: 15_000,
  bodyMs: 15_000,
  keepAliveMs: 4_000,
};

/** A request, its path already carrying any prefix and query. */
export interface HttpExchange {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** What came back, body read in full. */
export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const timeoutCodes = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** The DataTrailsError for an error thrown by undici or the socket. */
export function transportError(error: unknown, operation: string, signal?: AbortSignal): DataTrailsError {
  if (error instanceof DataTrailsError) return error;
  const code = (error as { code?: unknown }).code;
  const name = (error as { name?: unknown }).name;
  const cause = sanitisedCause(error);
  if (signal?.aborted === true || name === "AbortError" || code === "UND_ERR_ABORTED") {
    return new DataTrailsError("Aborted", "aborted by the caller", { operation, cause });
  }
  if (typeof code === "string" && timeoutCodes.has(code)) {
    const what =
      code === "UND_ERR_CONNECT_TIMEOUT"
        ? "connecting"
        : code === "UND_ERR_HEADERS_TIMEOUT"
          ? "waiting for response headers"
          : "reading the response body";
    return new DataTrailsError("Timeout", `timed out ${what} (${code})`, { operation, cause });
  }
  if (code === "UND_ERR_INVALID_ARG") {
    return new DataTrailsError("InvalidRequest", "the request could not be built", { operation, cause });
  }
  const label = typeof code === "string" ? code : typeof name === "string" ? name : "error";
  return new DataTrailsError("ConnectionFailed", `connection failed (${label})`, { operation, cause });
}

/** Sends exchanges to one origin over a keep-alive pool. */
export class HttpTransport {
  private readonly dispatcher: Dispatcher;
  private readonly owned: Pool | undefined;
  private readonly maxResponseBytes: number;
  private readonly origin: string;

  constructor(
    origin: string,
    options: { timeouts: Timeouts; connections: number; maxResponseBytes: number; dispatcher?: Dispatcher },
  ) {
    this.maxResponseBytes = options.maxResponseBytes;
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.owned = undefined;
    } else {
      this.owned = new Pool(origin, {
        connections: options.connections,
        keepAliveTimeout: options.timeouts.keepAliveMs,
        headersTimeout: options.timeouts.headersMs,
        bodyTimeout: options.timeouts.bodyMs,
        connect: { timeout: options.timeouts.connectMs },
      });
      this.dispatcher = this.owned;
    }
    this.origin = origin;
  }

  /** Sends one request and reads the whole answer; transport failures become DataTrailsErrors. */
  async send(exchange: HttpExchange, operation: string, signal?: AbortSignal): Promise<HttpResult> {
    try {
      const response = await this.dispatcher.request({
        origin: this.origin,
        method: exchange.method,
        path: exchange.path,
        headers: exchange.headers,
        body: exchange.body ?? null,
        signal: signal ?? null,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        const buffer = chunk as Buffer;
        size += buffer.length;
        if (size > this.maxResponseBytes) {
          response.body.destroy();
          throw new DataTrailsError(
            "MalformedResponse",
            `response larger than ${this.maxResponseBytes} bytes`,
            {
              operation,
              status: response.statusCode,
            },
          );
        }
        chunks.push(buffer);
      }
      return {
        status: response.statusCode,
        headers: response.headers,
        text: Buffer.concat(chunks).toString("utf8"),
      };
    } catch (error) {
      throw transportError(error, operation, signal);
    }
  }

  /** Closes the pool this transport made (not an injected dispatcher). */
  async close(): Promise<void> {
    await this.owned?.close();
  }
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  // Paths and issue codes only: zod messages and inputs may quote the values received.
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.code}`)
    .join(", ");
}

/**
 * The value of a 2xx answer, validated, or the DataTrailsError the answer stands for. Error
 * messages carry the status and the gRPC code and message from a grpc-gateway body, nothing else.
 */
export function readResult<S extends z.ZodType>(
  result: HttpResult,
  schema: S,
  operation: string,
  nowMs: number,
): z.output<S> {
  const { status } = result;
  if (status >= 200 && status < 300) {
    let json: unknown;
    try {
      json = JSON.parse(result.text);
    } catch {
      // No cause: a JSON SyntaxError quotes the body, and the body may hold a secret.
      throw new DataTrailsError("MalformedResponse", `HTTP ${status} with a body that is not JSON`, {
        operation,
        status,
      });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new DataTrailsError(
        "MalformedResponse",
        `HTTP ${status} with an unexpected body (${describeIssues(parsed.error.issues)})`,
        { operation, status },
      );
    }
    return parsed.data;
  }

  let grpcCode: number | undefined;
  let serverMessage = "";
  try {
    const body = errorBodyWire.safeParse(JSON.parse(result.text));
    if (body.success) {
      grpcCode = body.data.code;
      serverMessage = body.data.message.slice(0, 300);
    }
  } catch {
    // Not a grpc-gateway body (a proxy's HTML page, say): the status alone speaks.
  }
  const code: DataTrailsErrorCode = codeForStatus(status);
  const retryAfterMs = waitRequestedBy(status, result.headers, nowMs);
  const detail = `HTTP ${status}${grpcCode === undefined ? "" : ` (gRPC ${grpcCode})`}${serverMessage ? `: ${serverMessage}` : ""}`;
  throw new DataTrailsError(code, detail, { operation, status, grpcCode, retryAfterMs });
}
