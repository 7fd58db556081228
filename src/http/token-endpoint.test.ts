import { describe, expect, it } from "vitest";
import {
  clientCredentialsRequest,
  jwtBearerGrantType,
  jwtBearerRequest,
  oauthErrorCode,
  tokenEndpointAnswer,
} from "./token-endpoint.ts";

describe("clientCredentialsRequest", () => {
  it("puts the credentials in the form by default", () => {
    const request = clientCredentialsRequest({ clientId: "c", clientSecret: "s&=", scopes: ["a", "b"] });
    expect(request.headers).toEqual({ "content-type": "application/x-www-form-urlencoded" });
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: "client_credentials",
      client_id: "c",
      client_secret: "s&=",
      scope: "a b",
    });
  });

  it("sends Basic auth with each part form-encoded, and no credentials in the form", () => {
    const request = clientCredentialsRequest({
      clientId: "c:1",
      clientSecret: "s/+",
      authStyle: "Basic",
      resource: "r",
      audience: "aud",
    });
    const basic = Buffer.from(`${encodeURIComponent("c:1")}:${encodeURIComponent("s/+")}`).toString("base64");
    expect(request.headers["authorization"]).toBe(`Basic ${basic}`);
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: "client_credentials",
      resource: "r",
      audience: "aud",
    });
  });
});

describe("jwtBearerRequest", () => {
  it.each([
    { encoding: "Form" as const, type: "application/x-www-form-urlencoded" },
    { encoding: "JSON" as const, type: "application/json" },
  ])("encodes the grant as $encoding", ({ encoding, type }) => {
    const request = jwtBearerRequest("a.b.c", encoding);
    expect(request.headers["content-type"]).toBe(type);
    const fields =
      encoding === "JSON"
        ? (JSON.parse(request.body) as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(request.body));
    expect(fields).toEqual({ grant_type: jwtBearerGrantType, assertion: "a.b.c" });
  });
});

describe("tokenEndpointAnswer", () => {
  it.each([
    { name: "a full answer", body: { access_token: "t", token_type: "Bearer", expires_in: 60 }, ok: true },
    { name: "no token_type", body: { access_token: "t", expires_in: 60 }, ok: true },
    {
      name: "a lower-case bearer",
      body: { access_token: "t", token_type: "bearer", expires_in: 60 },
      ok: true,
    },
    { name: "expires_in as digits", body: { access_token: "t", expires_in: "3599" }, ok: true },
    { name: "another token_type", body: { access_token: "t", token_type: "MAC", expires_in: 60 }, ok: false },
    { name: "an empty access_token", body: { access_token: "", expires_in: 60 }, ok: false },
    { name: "expires_in 0", body: { access_token: "t", expires_in: 0 }, ok: false },
    { name: "expires_in not digits", body: { access_token: "t", expires_in: "1h" }, ok: false },
  ])("takes $name: $ok", ({ body, ok }) => {
    expect(tokenEndpointAnswer.safeParse(body).success).toBe(ok);
  });

  it("defaults token_type to Bearer", () => {
    expect(tokenEndpointAnswer.parse({ access_token: "t", expires_in: 1 }).token_type).toBe("Bearer");
  });
});

describe("oauthErrorCode", () => {
  it.each([
    { name: "an RFC 6749 error", text: '{"error":"invalid_client"}', want: "invalid_client" },
    { name: "an error with other characters", text: '{"error":"bad <b>client</b>"}', want: undefined },
    { name: "a body that is not JSON", text: "<html>nope</html>", want: undefined },
    { name: "JSON without error", text: '{"message":"no"}', want: undefined },
  ])("reads $name as $want", ({ text, want }) => {
    expect(oauthErrorCode(text)).toBe(want);
  });
});
