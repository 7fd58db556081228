import { Writable } from "node:stream";
import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createLogger, objectLogger, redactSecrets, serializeError } from "./logger.ts";

const jwt =
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhcHAtMTIzIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLXZhbHVlLWhlcmU";
const hexSecret = "a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778";
// Each secret is unique so the assertion can tell exactly which one leaked.
const secret = (n: number) => `s3cr3t-value-${n}-zq`;

function capture(level: "info" | "debug" = "info") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level, destination });
  return { logger, output: () => lines.join("") };
}

const secretKeys = [
  "client_secret",
  "clientSecret",
  "secret",
  "access_token",
  "accessToken",
  "token",
  "assertion",
  "privateKey",
  "private_key",
  "authorization",
  "Authorization",
  "password",
  "data",
  "stringData",
  "cookie",
  "refresh_token",
];

const nest = (depth: number, leaf: object): object => (depth === 0 ? leaf : { level: nest(depth - 1, leaf) });

describe("createLogger redaction", () => {
  const cases = secretKeys.flatMap((key, k) =>
    [0, 1, 2, 3, 5, 8].map((depth) => ({ key, depth, value: secret(k * 100 + depth) })),
  );

  it.each(cases)("removes $key at depth $depth", ({ key, depth, value }) => {
    const { logger, output } = capture();
    logger.info(nest(depth, { [key]: value, keep: "visible" }), "hello");
    const text = output();
    expect(text).toContain("visible");
    expect(text).toContain("[REDACTED]");
    expect(text).not.toContain(value);
  });

  it("removes secrets inside arrays and Secret objects", () => {
    const { logger, output } = capture();
    const value = secret(9001);
    logger.info({
      secrets: [
        { metadata: { name: "creds" }, data: { client_secret: Buffer.from(value).toString("base64") } },
      ],
      items: [[{ stringData: { token: value } }]],
      headers: { authorization: `Bearer ${value}`, "set-cookie": value },
    });
    const text = output();
    expect(text).toContain("creds");
    expect(text).not.toContain(value);
    expect(text).not.toContain(Buffer.from(value).toString("base64"));
  });

  it.each([
    { name: "a JWT in the message", log: (l: ReturnType<typeof capture>["logger"]) => l.info(`got ${jwt}`) },
    {
      name: "a JWT under an innocent key",
      log: (l: ReturnType<typeof capture>["logger"]) => l.info({ note: jwt }),
    },
    {
      name: "a 64-hex secret in the message",
      log: (l: ReturnType<typeof capture>["logger"]) => l.warn(`x ${hexSecret}`),
    },
    {
      name: "a bearer header in a child binding",
      log: (l: ReturnType<typeof capture>["logger"]) => l.child({ header: `Bearer ${secret(7)}` }).info("x"),
    },
    {
      name: "a form body",
      log: (l: ReturnType<typeof capture>["logger"]) =>
        l.info({ body: `grant_type=x&client_secret=${secret(8)}` }),
    },
  ])("masks $name", ({ log }) => {
    const { logger, output } = capture();
    log(logger);
    const text = output();
    expect(text).not.toContain(jwt);
    expect(text).not.toContain(hexSecret);
    expect(text).not.toContain(secret(7));
    expect(text).not.toContain(secret(8));
    expect(text).toContain("[REDACTED]");
  });

  it("logs an ApiException under err without its body or headers", () => {
    const { logger, output } = capture();
    const body = JSON.stringify({ kind: "Secret", data: { client_secret: "c2VjcmV0LWJvZHktdmFsdWU=" } });
    const err = new ApiException(409, "Conflict", body, { authorization: `Bearer ${secret(11)}` });
    logger.error({ err }, "apply failed");
    const text = output();
    const line = JSON.parse(text) as {
      err: { status?: number; code?: number; message: string; type: string };
    };
    expect(line.err.code).toBe(409);
    expect(line.err.message).toContain("HTTP-Code: 409");
    expect(text).not.toContain("c2VjcmV0LWJvZHktdmFsdWU=");
    expect(text).not.toContain(secret(11));
  });

  it("strips bodies from causes, however deep", () => {
    const inner = Object.assign(new Error("inner"), { body: secret(21), response: { data: secret(22) } });
    const outer = new Error("outer", { cause: new Error("middle", { cause: inner }) });
    const serialized = serializeError(outer);
    expect(serialized.cause?.cause?.message).toBe("inner");
    expect(JSON.stringify(serialized)).not.toContain(secret(21));
    expect(JSON.stringify(serialized)).not.toContain(secret(22));
  });

  it("writes the per-object child convention and levels as names", () => {
    const { logger, output } = capture("debug");
    objectLogger(logger, { controller: "token", namespace: "team-a", name: "api" }).debug("reconciling");
    const line = JSON.parse(output()) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: "debug",
      controller: "token",
      namespace: "team-a",
      name: "api",
      msg: "reconciling",
    });
  });
});

describe("redactSecrets", () => {
  it.each([
    { name: "a JWT", input: `token ${jwt} end`, output: "token [REDACTED] end" },
    { name: "64 hex digits", input: `secret=${hexSecret}`, output: "secret=[REDACTED]" },
    {
      name: "a bearer credential",
      input: "Authorization: Bearer abc.def-ghi",
      output: "Authorization: Bearer [REDACTED]",
    },
    { name: "a form field", input: "a=1&client_secret=xyz&b=2", output: "a=1&client_secret=[REDACTED]&b=2" },
    {
      name: "innocent text",
      input: "secrets/my-creds in team-a (uid 1234-abcd)",
      output: "secrets/my-creds in team-a (uid 1234-abcd)",
    },
    {
      name: "a 40-hex git sha",
      input: "commit 0123456789abcdef0123456789abcdef01234567",
      output: "commit 0123456789abcdef0123456789abcdef01234567",
    },
  ])("handles $name", ({ input, output }) => {
    expect(redactSecrets(input)).toBe(output);
  });
});
