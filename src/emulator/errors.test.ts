import { describe, expect, it } from "vitest";
import { ApiError, grpcCodeForStatus, quotaExceeded, rateLimited } from "./errors.ts";

describe("grpc-gateway errors", () => {
  it.each([
    [400, 3],
    [401, 16],
    [402, 8],
    [403, 7],
    [404, 5],
    [429, 8],
    [500, 13],
    [503, 14],
    [418, 2],
  ])("HTTP %i carries gRPC code %i", (status, code) => {
    expect(grpcCodeForStatus(status)).toBe(code);
    expect(new ApiError(status, "m").body()).toEqual({ code, message: "m", details: [] });
  });

  it("sends 402 for an exhausted quota", () => {
    expect(quotaExceeded("app registrations").status).toBe(402);
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
