import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  KubeError,
  codeForStatus,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isRetryable,
  kubeErrorCodes,
  toKubeError,
  type KubeErrorCode,
} from "./errors.ts";

const status = (code: number, reason: string, message: string, extra: object = {}) =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message, ...extra });

const apiError = (code: number, body: unknown, headers: Record<string, string> = {}) =>
  new ApiException(code, "Unknown API Status Code!", body, headers);

describe("toKubeError", () => {
  it.each<{ name: string; err: unknown; code: KubeErrorCode; status?: number; reason?: string }>([
    {
      name: "404 NotFound",
      err: apiError(404, status(404, "NotFound", 'secrets "x" not found')),
      code: "NotFound",
      status: 404,
      reason: "NotFound",
    },
    {
      name: "409 AlreadyExists",
      err: apiError(409, status(409, "AlreadyExists", "exists")),
      code: "AlreadyExists",
      status: 409,
    },
    {
      name: "409 Conflict",
      err: apiError(409, status(409, "Conflict", "modified")),
      code: "Conflict",
      status: 409,
    },
    {
      name: "403 Forbidden",
      err: apiError(403, status(403, "Forbidden", "cannot patch")),
      code: "Forbidden",
    },
    { name: "401 without a body", err: apiError(401, undefined), code: "Unauthorized", status: 401 },
    {
      name: "422 Invalid",
      err: apiError(422, status(422, "Invalid", "spec.x: Required value")),
      code: "Invalid",
    },
    {
      name: "400 BadRequest",
      err: apiError(400, status(400, "BadRequest", "bad patch")),
      code: "BadRequest",
    },
    { name: "410 Expired", err: apiError(410, status(410, "Expired", "too old")), code: "Gone" },
    { name: "429", err: apiError(429, status(429, "TooManyRequests", "slow down")), code: "TooManyRequests" },
    { name: "504 ServerTimeout", err: apiError(504, status(504, "Timeout", "timed out")), code: "Timeout" },
    {
      name: "500 InternalError",
      err: apiError(500, status(500, "InternalError", "etcd")),
      code: "Unavailable",
    },
    { name: "503 with a non-JSON body", err: apiError(503, "<html>bad gateway</html>"), code: "Unavailable" },
    { name: "an unknown 4xx", err: apiError(418, undefined), code: "Unknown", status: 418 },
    {
      name: "a watch error with statusCode",
      err: Object.assign(new Error("Gone"), { statusCode: 410 }),
      code: "Gone",
      status: 410,
    },
    {
      name: "connection refused (undici fetch)",
      err: new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      }),
      code: "ConnectionFailed",
    },
    {
      name: "a socket reset",
      err: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
      code: "ConnectionFailed",
    },
    {
      name: "a connect timeout",
      err: Object.assign(new Error("t"), { code: "UND_ERR_CONNECT_TIMEOUT" }),
      code: "Timeout",
    },
    { name: "an abort timeout", err: new DOMException("timed out", "TimeoutError"), code: "Timeout" },
    { name: "anything else", err: new Error("weird"), code: "Unknown" },
    { name: "a non-error", err: "just a string", code: "Unknown" },
  ])("maps $name", ({ err, code, status: httpStatus, reason }) => {
    const wrapped = toKubeError(err, "do something");
    expect(wrapped).toBeInstanceOf(KubeError);
    expect(wrapped.code).toBe(code);
    expect(wrapped.retryable).toBe(kubeErrorCodes[code].retryable);
    expect(wrapped.message.startsWith("do something: ")).toBe(true);
    if (httpStatus !== undefined) expect(wrapped.status).toBe(httpStatus);
    if (reason !== undefined) expect(wrapped.reason).toBe(reason);
  });

  it("keeps the Status message and nothing else of the body or headers", () => {
    const body = JSON.stringify({
      kind: "Status",
      code: 409,
      reason: "Conflict",
      message: 'Operation cannot be fulfilled on secrets "creds"',
      details: { causes: [{ message: "c2VjcmV0LWluLWJvZHk=" }] },
    });
    const err = toKubeError(
      apiError(409, body, { authorization: "Bearer hunter2" }),
      "apply Secret ns/creds",
    );
    expect(err.message).toBe('apply Secret ns/creds: Operation cannot be fulfilled on secrets "creds"');
    expect(err.cause).toBeUndefined();
    const everything = JSON.stringify({ ...err, message: err.message, stack: err.stack });
    expect(everything).not.toContain("c2VjcmV0LWluLWJvZHk=");
    expect(everything).not.toContain("hunter2");
  });

  it("ignores a body that is not a Status (it could be the object itself)", () => {
    const body = JSON.stringify({ kind: "Secret", message: "c2VjcmV0", data: { k: "c2VjcmV0" } });
    const err = toKubeError(apiError(500, body), "read");
    expect(err.message).toBe("read: HTTP 500");
  });

  it.each([
    { name: "a Retry-After header", headers: { "retry-after": "3" }, extra: {}, expected: 3000 },
    {
      name: "details.retryAfterSeconds",
      headers: {},
      extra: { details: { retryAfterSeconds: 2 } },
      expected: 2000,
    },
    { name: "neither", headers: {}, extra: {}, expected: undefined },
  ])("reads the retry hint from $name", ({ headers, extra, expected }) => {
    const err = toKubeError(apiError(429, status(429, "TooManyRequests", "slow", extra), headers), "list");
    expect(err.retryAfterMs).toBe(expected);
  });

  it("dates a Retry-After given as an HTTP date by the clock it is handed", () => {
    const clock = { now: () => Date.parse("2026-01-01T00:00:00Z") };
    const headers = { "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" };
    const err = toKubeError(apiError(429, status(429, "TooManyRequests", "slow"), headers), "list", clock);
    expect(err.retryAfterMs).toBe(30_000);
  });

  it("reads Retry-After on a 429 or 503 only, as the other boundaries do", () => {
    const err = toKubeError(
      apiError(500, status(500, "InternalError", "boom"), { "retry-after": "3" }),
      "list",
    );
    expect(err.retryAfterMs).toBeUndefined();
  });

  it("masks a token that a Status message echoes", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const err = toKubeError(apiError(422, status(422, "Invalid", `value ${jwt} is invalid`)), "apply");
    expect(err.message).not.toContain(jwt);
  });

  it("returns a KubeError unchanged", () => {
    const err = new KubeError({ code: "Gone", operation: "watch", message: "too old" });
    expect(toKubeError(err, "other")).toBe(err);
  });

  it("lets switch (err.code) narrow over every code", () => {
    const describeCode = (err: KubeError): string => {
      switch (err.code) {
        case "NotFound":
        case "AlreadyExists":
        case "Conflict":
        case "Forbidden":
        case "Unauthorized":
        case "Invalid":
        case "BadRequest":
        case "Gone":
        case "TooManyRequests":
        case "Timeout":
        case "Unavailable":
        case "ConnectionFailed":
        case "Unknown":
          return err.code;
        default: {
          const never: never = err.code;
          return never;
        }
      }
    };
    expect(describeCode(new KubeError({ code: "Timeout", operation: "x", message: "y" }))).toBe("Timeout");
  });
});

describe("predicates", () => {
  it.each([
    { name: "isNotFound", fn: isNotFound, yes: apiError(404, undefined), no: apiError(409, undefined) },
    { name: "isConflict", fn: isConflict, yes: apiError(409, undefined), no: apiError(404, undefined) },
    {
      name: "isAlreadyExists",
      fn: isAlreadyExists,
      yes: apiError(409, status(409, "AlreadyExists", "x")),
      no: apiError(409, undefined),
    },
    { name: "isGone", fn: isGone, yes: apiError(410, undefined), no: apiError(404, undefined) },
    { name: "isRetryable", fn: isRetryable, yes: apiError(503, undefined), no: apiError(403, undefined) },
  ])("$name tells raw and wrapped errors apart", ({ fn, yes, no }) => {
    expect(fn(yes)).toBe(true);
    expect(fn(toKubeError(yes, "op"))).toBe(true);
    expect(fn(no)).toBe(false);
    expect(fn(new Error("other"))).toBe(false);
  });

  it.each([
    { status: 409, reason: "AlreadyExists", code: "AlreadyExists" },
    { status: 409, reason: undefined, code: "Conflict" },
    { status: 599, reason: undefined, code: "Unavailable" },
    { status: 500, reason: "NotFound", code: "NotFound" },
  ] as const)("codeForStatus($status, $reason) is $code", ({ status: s, reason, code }) => {
    expect(codeForStatus(s, reason)).toBe(code);
  });
});

describe("docs/errors-kube.md", () => {
  const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "errors-kube.md"), "utf8");
  const rows = [...doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*(yes|no)\s*\|/gm)].map((m) => ({
    code: m[1],
    retryable: m[2] === "yes",
  }));

  it("lists exactly the codes in errors.ts", () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(kubeErrorCodes).sort());
  });

  it("says the same about retrying as errors.ts", () => {
    for (const row of rows) {
      expect({ code: row.code, retryable: row.retryable }).toEqual({
        code: row.code,
        retryable: kubeErrorCodes[row.code as KubeErrorCode].retryable,
      });
    }
  });
});
