import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crdReference } from "./reference.ts";

describe("docs/crd-reference.md", () => {
  it("is what the schemas generate (run `make crds` if not)", () => {
    expect(
      readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "crd-reference.md"), "utf8"),
    ).toBe(crdReference());
  });

  it("documents the fields users write most", () => {
    const page = crdReference();
    for (const field of [
      "spec.customClaims",
      "spec.deletionPolicy",
      "spec.adopt.identity",
      "spec.verify.requiredRoles",
      "status.tokenExpiresAt",
    ]) {
      expect(page).toContain(`\`${field}\``);
    }
  });
});
