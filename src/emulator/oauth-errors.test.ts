import { describe, expect, it } from "vitest";
import { ApiError, rateLimited } from "./errors.ts";
import { OAuthError, azureError, oauthErrorCodeForStatus, toOAuthError } from "./oauth-errors.ts";

const now = Date.UTC(2024, 4, 1, 12, 34, 56, 789);

describe("OAuth2 error bodies", () => {
  it("writes an Azure error with its AADSTS code, trace lines and ids", () => {
    const err = azureError(401, "invalid_client", 7000215, "Invalid client secret provided.", now);
    const body = err.body();
    expect(err.status).toBe(401);
    expect(body).toMatchObject({
      error: "invalid_client",
      error_codes: [7000215],
      timestamp: "2024-05-01 12:34:56Z",
      trace_id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      correlation_id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect(body.error_description).toMatch(
      /^AADSTS7000215: Invalid client secret provided\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: 2024-05-01 12:34:56Z$/,
    );
  });

  it.each([
    [400, "invalid_request"],
    [401, "invalid_client"],
    [403, "unauthorized_client"],
    [404, "invalid_request"],
    [415, "invalid_request"],
    [429, "temporarily_unavailable"],
    [500, "server_error"],
    [503, "temporarily_unavailable"],
  ])("names status %i %s", (status, error) => {
    expect(oauthErrorCodeForStatus(status)).toBe(error);
  });

  it.each([
    ["an injected 429 (Retry-After kept, DataTrails' header dropped)", rateLimited(7), 429, [50196], "7"],
    ["an injected 503", new ApiError(503, "injected fault: HTTP 503"), 503, [90033], undefined],
    ["an injected 500", new ApiError(500, "boom"), 500, [50000], undefined],
    ["an injected 403", new ApiError(403, "no"), 403, [], undefined],
    [
      "fastify's unsupported media type",
      Object.assign(new Error("Unsupported"), { statusCode: 415 }),
      415,
      [],
      undefined,
    ],
    ["an unexpected error", new Error("secret detail"), 500, [50000], undefined],
  ])("turns %s into an Azure body", (_name, err, status, codes, retryAfter) => {
    const oauth = toOAuthError(err, "azure", now);
    expect(oauth.status).toBe(status);
    expect(oauth.body()["error_codes"]).toEqual(codes);
    expect(oauth.headers["retry-after"]).toBe(retryAfter);
    expect(oauth.headers["archivist-rate-limit-reset"]).toBeUndefined();
    expect(oauth.body().error_description).not.toContain("secret detail");
  });

  it("gives the JWT-bearer endpoint plain {error, error_description} and passes route errors through", () => {
    expect(toOAuthError(new ApiError(502, "bad gateway"), "federated", now).body()).toEqual({
      error: "server_error",
      error_description: "bad gateway",
    });
    const own = new OAuthError(401, "invalid_grant", "the assertion has expired");
    expect(toOAuthError(own, "federated", now)).toBe(own);
  });
});
