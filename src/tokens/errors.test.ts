import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TokenError, TokenErrorCode } from "./errors.ts";

const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "errors-tokens.md"), "utf8");
const rows = [...doc.matchAll(/^\|\s*`([A-Za-z]+)`\s*\|\s*(yes|no)\s*\|/gm)].map(
  (m) => [m[1], m[2] === "yes"] as const,
);

describe("TokenError codes", () => {
  it("docs/errors-tokens.md lists exactly the codes in the code", () => {
    expect(rows.map(([code]) => code).sort()).toEqual(Object.values(TokenErrorCode).sort());
  });

  it.each(rows)("documents %s's retryability as the code has it", (code, retryable) => {
    expect(new TokenError(code as never, "m").retryable).toBe(retryable);
  });
});
