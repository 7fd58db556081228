import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  codeForStatus,
  DataTrailsError,
  dataTrailsErrorCodeList,
  dataTrailsErrorCodes,
  isDataTrailsError,
  redactSecrets,
  sanitisedCause,
} from "./errors.ts";

const secret = "a0c09972b6ac912a4d67815fef88093c81a99b49977d35ecf6d162631aa29173";
const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

describe("DataTrailsError", () => {
  it.each([
    [400, "InvalidArgument", false],
    [401, "Unauthenticated", false],
    [402, "QuotaExceeded", false],
    [403, "PermissionDenied", false],
    [404, "NotFound", false],
    [409, "Conflict", false],
    [429, "RateLimited", true],
    [500, "ServerError", true],
    [501, "UnexpectedStatus", false],
    [502, "Unavailable", true],
    [503, "Unavailable", true],
    [504, "Unavailable", true],
    [507, "ServerError", true],
    [302, "UnexpectedStatus", false],
    [418, "UnexpectedStatus", false],
  ] as const)("HTTP %i is %s (retryable: %s)", (status, code, retryable) => {
    expect(codeForStatus(status)).toBe(code);
    expect(new DataTrailsError(codeForStatus(status), "x", { operation: "op" }).retryable).toBe(retryable);
  });

  it("names the operation first and narrows by code", () => {
    const error: unknown = new DataTrailsError("RateLimited", "HTTP 429", {
      operation: "get application",
      retryAfterMs: 5,
    });
    expect(isDataTrailsError(error, "RateLimited")).toBe(true);
    expect(isDataTrailsError(error, "NotFound")).toBe(false);
    if (isDataTrailsError(error)) {
      expect(error.message).toBe("get application: HTTP 429");
      expect(error.retryAfterMs).toBe(5);
    }
  });

  it.each([
    ["a DataTrails secret", `bad secret ${secret}!`, "bad secret [redacted]!"],
    ["a JWT", `token ${jwt} refused`, "token [redacted] refused"],
    ["a bearer credential", "Authorization: Bearer abc.def", "Authorization: Bearer [redacted]"],
    ["nothing secret", "application not found", "application not found"],
  ])("redacts %s", (_name, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
    expect(new DataTrailsError("NotFound", text, { operation: "op" }).message).toBe(`op: ${expected}`);
  });

  it("keeps only the name, code and redacted message of a transport error", () => {
    const original = Object.assign(new SyntaxError(`Unexpected token in "${secret}"`), {
      code: "E_X",
      body: secret,
    });
    const copy = sanitisedCause(original);
    expect(copy).not.toBe(original);
    expect({ name: copy.name, code: (copy as { code?: string }).code }).toEqual({
      name: "SyntaxError",
      code: "E_X",
    });
    expect(JSON.stringify({ ...copy, message: copy.message, stack: copy.stack })).not.toContain(secret);
  });
});

describe("docs/errors-datatrails.md", () => {
  const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "errors-datatrails.md"), "utf8");
  const rows = [...doc.matchAll(/^\|\s*`([A-Za-z]+)`\s*\|\s*(yes|no)\s*\|/gm)].map(
    (m) => [m[1], m[2]] as const,
  );

  it("lists every code the client has, in the same order, and no other", () => {
    expect(rows.map(([code]) => code)).toEqual(dataTrailsErrorCodeList);
  });

  it("says the same about retryability as the code", () => {
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(
        dataTrailsErrorCodeList.map((c) => [c, dataTrailsErrorCodes[c].retryable ? "yes" : "no"]),
      ),
    );
  });
});
