import { describe, expect, it } from "vitest";
import { ApiError, grpcCodeForStatus, quotaExceeded, rateLimited } from "./errors.ts";

describe("grpc-gateway errors", () => {
  it.each([
    { status: 400, code: 3 },
    { status: 401, code: 16 },
    { status: 402, code: 12 },
    { status: 403, code: 7 },
    { status: 404, code: 5 },
    { status: 429, code: 8 },
    { status: 500, code: 13 },
    { status: 503, code: 14 },
    { status: 418, code: 2 },
  ])("HTTP $status carries gRPC code $code", ({ status, code }) => {
    expect(grpcCodeForStatus(status)).toBe(code);
    expect(new ApiError(status, "m").body()).toEqual({ code, message: "m", details: [] });
  });

  it("sends 402 with gRPC code 12 and a message ending in Payment Required for an exhausted quota", () => {
    const error = quotaExceeded("app registrations");
    expect([error.status, error.body().code]).toEqual([402, 12]);
    expect(error.message).toMatch(/Payment Required$/);
  });

  it.each([
    [0.2, "1"],
    [1, "1"],
    [7.5, "8"],
  ])("rounds a %f s reset up to whole seconds in both headers", (seconds, header) => {
    expect(rateLimited(seconds).headers).toEqual({
      "archivist-rate-limit-reset": header,
      "retry-after": header,
    });
  });
});
