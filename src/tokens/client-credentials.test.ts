import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientCredentialsIssuer } from "./client-credentials.ts";
import { TokenError } from "./errors.ts";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const secret = "s3cr3t/with+chars&=";
let server: Server;
let base: string;
let handler: Handler = (_req, _body, res) => res.end();
const seen: { headers: IncomingMessage["headers"]; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const json =
  (status: number, value: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, _body, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(typeof value === "string" ? value : JSON.stringify(value));
  };

const issuer = (
  over: Partial<ConstructorParameters<typeof ClientCredentialsIssuer>[0]> = {},
  timeoutMs = 2000,
) =>
  new ClientCredentialsIssuer(
    { tokenUrl: `${base}/token`, clientId: "client-1", clientSecret: secret, ...over },
    { timeoutMs },
  );

describe("ClientCredentialsIssuer", () => {
  it("posts the credentials in the form body by default, as DataTrails documents", async () => {
    handler = json(200, { access_token: "tok", token_type: "Bearer", expires_in: 3600 });
    const token = await issuer().issue();
    expect(token).toMatchObject({ accessToken: "tok", tokenType: "Bearer", expiresInSeconds: 3600 });
    const form = new URLSearchParams(seen.at(-1)?.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "client_credentials",
      client_id: "client-1",
      client_secret: secret,
    });
    expect(seen.at(-1)?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  it("sends HTTP Basic auth with form-encoded parts when asked, and no credentials in the body", async () => {
    handler = json(200, { access_token: "tok", expires_in: 60 });
    await issuer({ authStyle: "Basic" }).issue();
    const auth = Buffer.from(
      (seen.at(-1)?.headers.authorization ?? "").replace(/^Basic /, ""),
      "base64",
    ).toString();
    expect(auth).toBe(`client-1:${encodeURIComponent(secret)}`);
    expect(seen.at(-1)?.body).toBe("grant_type=client_credentials");
  });

  it.each([
    ["Azure AD v1: resource", { resource: "https://app.example" }, { resource: "https://app.example" }],
    [
      "Azure AD v2: scope",
      { scopes: ["https://app.example/.default"] },
      { scope: "https://app.example/.default" },
    ],
    ["several scopes, space-separated", { scopes: ["a", "b"] }, { scope: "a b" }],
    ["an audience", { audience: "api://x" }, { audience: "api://x" }],
  ])("sends %s", async (_name, over, expected) => {
    handler = json(200, { access_token: "tok", expires_in: 60 });
    await issuer(over).issue();
    expect(Object.fromEntries(new URLSearchParams(seen.at(-1)?.body))).toMatchObject(expected);
  });

  it("accepts expires_in as a string, as Azure AD v1 sends it", async () => {
    handler = json(200, { access_token: "tok", token_type: "Bearer", expires_in: "3599" });
    expect((await issuer().issue()).expiresInSeconds).toBe(3599);
  });

  it.each<[string, Handler, string, boolean, RegExp]>([
    [
      "401 invalid_client",
      json(401, { error: "invalid_client", error_description: "bad" }),
      "Rejected",
      false,
      /answered 401 \(invalid_client\)/,
    ],
    ["400 with a non-JSON body", json(400, "<html>nope</html>"), "Rejected", false, /answered 400$/],
    ["429 with Retry-After", json(429, {}, { "retry-after": "7" }), "RateLimited", true, /answered 429/],
    ["503", json(503, { code: 14 }), "Unavailable", true, /answered 503/],
    ["200 that is not JSON", json(200, "not json"), "MalformedResponse", true, /not JSON/],
    ["200 without access_token", json(200, { expires_in: 60 }), "MalformedResponse", true, /access_token/],
    [
      "200 with expires_in 0",
      json(200, { access_token: "t", expires_in: 0 }),
      "MalformedResponse",
      true,
      /expires_in/,
    ],
  ])("maps %s to a TokenError", async (_name, h, code, retryable, message) => {
    handler = h;
    const err = await issuer()
      .issue()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect(err).toMatchObject({ code, retryable });
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain(secret);
  });

  it("carries Retry-After into retryAfterMs", async () => {
    handler = json(429, {}, { "retry-after": "7" });
    await expect(issuer().issue()).rejects.toMatchObject({ retryAfterMs: 7000 });
  });

  it("carries a 503's Retry-After too, as every HTTP boundary does", async () => {
    handler = json(503, {}, { "retry-after": "5" });
    await expect(issuer().issue()).rejects.toMatchObject({ code: "Unavailable", retryAfterMs: 5000 });
  });

  it("refuses a token of a type other than Bearer", async () => {
    handler = json(200, { access_token: "t", token_type: "MAC", expires_in: 60 });
    await expect(issuer().issue()).rejects.toMatchObject({ code: "MalformedResponse" });
  });

  it("reads DataTrails' Archivist-Rate-Limit-Reset when there is no Retry-After", async () => {
    handler = json(429, {}, { "archivist-rate-limit-reset": "3" });
    await expect(issuer().issue()).rejects.toMatchObject({ retryAfterMs: 3000 });
  });

  it("times out", async () => {
    handler = () => undefined;
    await expect(issuer({}, 200).issue()).rejects.toMatchObject({ code: "Timeout", retryable: true });
  });

  it("reports a dropped connection", async () => {
    handler = (req) => req.socket.destroy();
    await expect(issuer().issue()).rejects.toMatchObject({ code: "ConnectionFailed", retryable: true });
  });
});
